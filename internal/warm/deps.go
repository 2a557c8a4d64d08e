package warm

import (
	_ "github.com/caddyserver/caddy/v2"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	_ "github.com/containers/podman/v5/pkg/bindings"
	_ "github.com/containers/podman/v5/pkg/bindings/containers"
	_ "github.com/containers/podman/v5/pkg/bindings/images"
	_ "github.com/containers/podman/v5/pkg/specgen"
	_ "github.com/containers/podman/v5/pkg/api/handlers"
	_ "github.com/containers/podman/v5/libpod/define"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/valkey-io/valkey-go"
	_ "github.com/tetratelabs/wazero"
	_ "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	_ "github.com/NVIDIA/go-nvml/pkg/nvml"
	_ "github.com/minio/minio-go/v7"
	_ "golang.org/x/crypto/bcrypt"
	_ "github.com/google/uuid"
)
