//! Azure, knowing nothing of checks: clouds, az's configuration, the Entra credential chain and
//! Resource Manager.

pub mod arm;
pub mod cloud;
pub mod config;
pub mod credential;
pub mod endpoints;
pub mod resource;
