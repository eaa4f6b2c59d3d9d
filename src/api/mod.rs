//! HTTP API areas; each registers its own routes on the one router.

pub mod layers;
pub mod publication;
pub mod search;
