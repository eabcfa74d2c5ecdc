//! Test support for SPOT's interop and end-to-end tests: helpers to drive spot-proto state
//! machines over real sockets and to start foreign ZeroMQ peers.
