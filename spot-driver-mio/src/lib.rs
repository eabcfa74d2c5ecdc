//! SPOT on mio (in progress).
