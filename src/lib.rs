//! acr-health: why can't I reach my container registry, and how do I fix it?
//!
//! Layers import downward only, from the bottom:
//! - `vocabulary`: check ids and their graph, codes and texts (the knowledge base), outcomes;
//! - infrastructure that knows nothing of checks: `system` (environment, child processes),
//!   `net` (HTTP, DNS), `azure` (clouds, credentials, Resource Manager), `oci` (challenge,
//!   manifests, docker's credentials);
//! - `checks`: one module per chain, each returning typed outcomes;
//! - `plan` (which chains run), `runner` (runs them, bounded in time, in az's order), the report
//!   (`report`, `templates`, `render`, `output`), the commands around the knowledge base
//!   (`explain`, `kb`), the command line (`cli`, `usage`, `locale`), and `app` on top.
//!
//! The binary is `main.rs`; the library exists so benchmarks and fuzz targets can reach the parts.

pub mod app;
pub mod azure;
pub mod checks;
pub mod cli;
pub mod explain;
pub mod kb;
pub mod locale;
pub mod net;
pub mod oci;
pub mod output;
pub mod plan;
pub mod render;
pub mod report;
pub mod runner;
pub mod system;
pub mod templates;
pub mod usage;
pub mod vocabulary;
