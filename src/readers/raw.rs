//! The native manifest file exactly as written: serde schema types, kept
//! apart from the validated model in `super`. Spans give error lines.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawManifestFile {
    #[serde(default)]
    pub manifest: Option<Spanned<RawHeader>>,
    /// Not `Spanned`: toml cannot span a table that only a `[python.x]`
    /// header defines, which `manifest convert` writes.
    #[serde(default)]
    pub python: Option<RawPython>,
    #[serde(default)]
    pub components: BTreeMap<Spanned<String>, Spanned<RawComponent>>,
    #[serde(default)]
    pub shared: Option<Spanned<RawShared>>,
    #[serde(default)]
    pub environment: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    pub hooks: Option<Spanned<RawHooks>>,
    #[serde(default)]
    pub secrets: Option<Spanned<RawSecrets>>,
}

/// `[secrets]`: the keys an instance must have set (`secret set`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    pub required: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawShared {
    pub dirs: Option<Vec<String>>,
    pub files: Option<Vec<String>>,
}

/// `[hooks]`: an unknown key (a misspelt phase) is an error naming it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHooks {
    pub setup: Option<StringOrList>,
    pub build: Option<StringOrList>,
    pub pre_switch: Option<StringOrList>,
    pub post_switch: Option<StringOrList>,
    pub check: Option<StringOrList>,
    pub check_url: Option<String>,
    pub rollback: Option<StringOrList>,
    pub stop: Option<StringOrList>,
    pub timeout: Option<String>,
    pub check_timeout: Option<String>,
    pub check_interval: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawHeader {
    pub description: Option<String>,
    pub extends: Option<Spanned<StringOrList>>,
    pub allow_unpinned: Option<bool>,
    pub local_overrides: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            StringOrList::One(one) => vec![one],
            StringOrList::Many(many) => many,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPython {
    pub interpreter: Option<String>,
    pub index_url: Option<String>,
    pub find_links: Option<Vec<String>>,
    pub constraints: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawComponent {
    pub git: Option<String>,
    pub rev: Option<String>,
    pub url: Option<String>,
    pub sha256: Option<String>,
    pub path: Option<String>,
    pub python: Option<String>,
    pub install: Option<String>,
    pub hashes: Option<Vec<String>>,
    pub extras: Option<Spanned<Vec<String>>>,
    pub version: Option<Spanned<String>>,
    pub marker: Option<Spanned<String>>,
    pub remove: Option<bool>,
}
