//! HTTP API areas; each registers its own routes on the one router.

pub mod layers;
pub mod search;
