//! The flow tests (`tests/`): what spans several functions, or needs the local runner's gateway
//! and queue mappings, on the local AWS endpoint with both simulators. One binary per area;
//! `faults` runs alone (scripts/test.sh).
