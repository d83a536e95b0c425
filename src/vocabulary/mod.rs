//! The bottom layer: the words every other layer speaks. Check ids and the graph of which check
//! needs which, the error codes and their texts (the knowledge base, compiled in by `build.rs`),
//! texts for people, and outcomes. It imports nothing else of the crate.

pub mod check;
pub mod fact;
pub mod knowledge;
pub mod outcome;
pub mod text;

pub use check::Check;
pub use fact::{Fact, Facts};
pub use knowledge::{Code, Language, Ui, ui};
pub use outcome::{CheckStatus, CommandRecord, Detail, Outcome, Timings};
pub use text::{Arg, Text};
