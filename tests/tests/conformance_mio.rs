//! The conformance suite against the mio driver.

spot_tests::conformance_tests!(spot_tests::conformance::Mio);
