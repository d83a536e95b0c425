//! acr-health: why can't I reach my container registry, and how do I fix it?
//!
//! The flow is one way. For `explain`: arguments (`cli`; `usage` tells wrong ones) → language
//! (`locale`) → a code's facts and texts (`knowledge`) → a document for scripts (`output`) or
//! markdown for people (`templates`, `render`). For `check-health`: arguments (`cli`, `health`) →
//! a plan (`plan`, `registry::target`, `cloud`) → the runner (`runner`) → chains of checks
//! (`checks`, `registry`, `arm`) → typed outcomes → the report (`report`).
//!
//! The binary is `main.rs`; the library exists so benchmarks and fuzz targets can reach the parts.

pub mod app;
pub mod arm;
pub mod azconfig;
pub mod checks;
pub mod cli;
pub mod cloud;
pub mod explain;
pub mod health;
pub mod kb;
pub mod knowledge;
pub mod locale;
pub mod output;
pub mod plan;
pub mod registry;
pub mod render;
pub mod report;
pub mod runner;
pub mod templates;
pub mod usage;
