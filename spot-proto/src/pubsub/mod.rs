//! Pub/sub: topic directory, subscriptions and patterns, routing, per-peer queues.
