//! SWIM membership.
