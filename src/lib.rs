//! geoportal — a municipal GIS server: PostGIS layers served as vector tiles,
//! OGC API Features and analytics, edited by the city's departments.
#![forbid(unsafe_code)]

pub mod demo;
