//! The one pseudo-random generator of the tests and benches (it lives in the
//! crate, `selfscrape_filter::testkit`, so the crate's own unit tests and the
//! corpus generators use the same one): deterministic and seeded, so every
//! run can be repeated from the seed it prints.
#![allow(dead_code, unused_imports)]

pub use selfscrape_filter::testkit::Rng;
