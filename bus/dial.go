package bus

import (
	"net"
	"time"
)

func dialer() net.Dialer {
	return net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
}
