//! Integration tests: the real binary against real git repositories and a
//! real HTTP server, all in temp dirs.

mod support;

mod archives;
mod buildout;
mod buildout_generated;
mod buildout_linaro;
mod buildout_oracle;
mod completions;
mod debian;
mod faults;
mod history;
mod https;
mod install;
mod lab;
mod lava_lab;
mod lava_server;
mod layers;
mod lifecycle;
mod local;
mod manifests;
mod network;
mod plan;
mod python;
mod releases;
mod safety;
mod secrets;
mod status;
mod trust;
mod ui;
mod upgrade;
