//! The conformance suite against the smol driver.

spot_tests::conformance_tests!(spot_tests::conformance::Smol);
