//! ZMTP 3.x framing.
