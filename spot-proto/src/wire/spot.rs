//! SPOT commands.
