//! Integration tests: the real binary against real git repositories and a
//! real HTTP server, all in temp dirs.

mod support;

mod archives;
mod buildout;
mod buildout_generated;
mod buildout_linaro;
mod buildout_oracle;
mod faults;
mod install;
mod layers;
mod local;
mod manifests;
mod python;
mod releases;
mod safety;
mod status;
mod upgrade;
