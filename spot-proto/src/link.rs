//! One ZMTP connection.
