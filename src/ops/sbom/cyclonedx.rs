//! CycloneDX 1.5 JSON: the release is `metadata.component`, each item a
//! component with its purl, hashes, external references and properties.

use serde_json::{json, Map, Value};

use super::{Bom, Item, Kind};

pub fn document(bom: &Bom) -> Value {
    let mut components = vec![component(&bom.manifest)];
    components.extend(bom.items.iter().map(component));
    let depends_on: Vec<&str> = std::iter::once(&bom.manifest)
        .chain(&bom.items)
        .map(|i| i.id.as_str())
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", bom.uuid()),
        "version": 1,
        "metadata": {
            "timestamp": bom.created,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "lava-deploy",
                    "version": env!("CARGO_PKG_VERSION"),
                }],
            },
            "component": {
                "type": "application",
                "bom-ref": "Release",
                "name": bom.instance,
                "version": bom.release,
                "description": format!("release {} of instance {}", bom.release, bom.instance),
                "properties": properties(&bom.properties),
            },
        },
        "components": components,
        "dependencies": [{"ref": "Release", "dependsOn": depends_on}],
    })
}

fn component(item: &Item) -> Value {
    let mut c = Map::new();
    let kind = match item.kind {
        Kind::Manifest => "file",
        _ => "library",
    };
    c.insert("type".into(), kind.into());
    c.insert("bom-ref".into(), item.id.clone().into());
    c.insert("name".into(), item.name.clone().into());
    if let Some(version) = &item.version {
        c.insert("version".into(), version.clone().into());
    }
    c.insert("description".into(), item.description.clone().into());
    if !item.sha256.is_empty() {
        let hashes: Vec<Value> = item
            .sha256
            .iter()
            .map(|h| json!({"alg": "SHA-256", "content": h}))
            .collect();
        c.insert("hashes".into(), hashes.into());
    }
    c.insert("purl".into(), item.purl.clone().into());
    let mut references = Vec::new();
    if let Some(vcs) = &item.vcs {
        references.push(json!({"type": "vcs", "url": vcs}));
    }
    if item.kind == Kind::Archive {
        if let Some(url) = &item.location {
            references.push(json!({"type": "distribution", "url": url}));
        }
    }
    if let Some(index) = &item.index {
        references.push(json!({"type": "distribution", "url": index}));
    }
    if !references.is_empty() {
        c.insert("externalReferences".into(), references.into());
    }
    if let Some(overridden) = &item.overridden {
        // CycloneDX's word for "this is not the upstream pin as is".
        c.insert(
            "pedigree".into(),
            json!({"notes": format!("replaced in this release by {overridden}")}),
        );
    }
    c.insert("properties".into(), properties(&item.properties));
    Value::Object(c)
}

fn properties(pairs: &[(String, String)]) -> Value {
    pairs
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}
