//! A local CSMS for demos, tests and benchmarks.
