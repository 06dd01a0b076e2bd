//! CLI tests: the real binary on files in `tests/`. One file per command.

mod adjust;
mod assess;
mod bad_inputs;
mod check;
mod check_view;
mod checks;
mod compare_rules;
mod comparison;
mod coverage;
mod decisions;
mod excel;
mod guizhou_export;
mod language;
mod national_export;
mod notice;
mod outputs;
mod persons;
mod privacy;
mod properties;
mod review;
mod rules;
mod sheets;
mod shell;
mod support;
mod verify;
mod whatif;
