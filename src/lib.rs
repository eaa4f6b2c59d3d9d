//! geoportal — a municipal GIS server: PostGIS layers served as vector tiles,
//! OGC API Features and analytics, edited by the city's departments.
#![forbid(unsafe_code)]

pub mod access;
pub mod analytics;
pub mod api;
pub mod appeals;
pub mod auth;
pub mod backup;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod fonts;
pub mod import;
pub mod ogc;
pub mod openapi;
pub mod opendata;
pub mod query;
pub mod registry;
pub mod server;
pub mod tiles;
pub mod users;
