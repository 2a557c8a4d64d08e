// Package api holds the wire types that Berth's components share: the REST
// objects (Session, App, Agent, ...), the messages that cross Valkey between
// the manager, the agents and the edge (Command, Event, Route), and the key
// names those messages live under.
//
// It imports only the standard library, so every other package (and the
// wasip1 policy SDK) may depend on it. manager, agent and caddymodules never
// import each other: they meet here.
package api
