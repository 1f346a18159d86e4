//! SPDX 2.3 JSON: the release is a package the document describes; it
//! contains every item and is generated from the manifest, whose
//! signature is also an annotation.

use serde_json::{json, Map, Value};

use super::{Bom, Item, Kind};

const NOASSERTION: &str = "NOASSERTION";

pub fn document(bom: &Bom) -> Value {
    let creator = format!("Tool: lava-deploy-{}", env!("CARGO_PKG_VERSION"));
    let mut packages = vec![json!({
        "name": bom.instance,
        "SPDXID": "SPDXRef-Release",
        "versionInfo": bom.release,
        "downloadLocation": NOASSERTION,
        "filesAnalyzed": false,
        "primaryPackagePurpose": "APPLICATION",
        "comment": format!("release {} of instance {}; {}", bom.release, bom.instance,
            bom.properties.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")),
    })];
    packages.push(package(&bom.manifest));
    packages.extend(bom.items.iter().map(package));
    let mut relationships = vec![
        relationship("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Release"),
        relationship("SPDXRef-Release", "GENERATED_FROM", &spdx_id(&bom.manifest)),
    ];
    relationships.extend(
        bom.items
            .iter()
            .map(|item| relationship("SPDXRef-Release", "CONTAINS", &spdx_id(item))),
    );
    let mut document = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("lava-deploy {} {}", bom.instance, bom.release),
        "documentNamespace": format!("urn:uuid:{}", bom.uuid()),
        "creationInfo": {"created": bom.created, "creators": [creator.clone()]},
        "packages": packages,
        "relationships": relationships,
    });
    if bom
        .manifest
        .properties
        .iter()
        .any(|(k, _)| k.ends_with(":manifest-signer"))
    {
        document["annotations"] = json!([{
            "annotationDate": bom.created,
            "annotationType": "OTHER",
            "annotator": creator,
            "comment": bom.manifest.description,
            "spdxElementId": spdx_id(&bom.manifest),
        }]);
    }
    document
}

fn spdx_id(item: &Item) -> String {
    format!("SPDXRef-{}", item.id)
}

fn relationship(from: &str, kind: &str, to: &str) -> Value {
    json!({"spdxElementId": from, "relationshipType": kind, "relatedSpdxElement": to})
}

fn package(item: &Item) -> Value {
    let mut p = Map::new();
    p.insert("name".into(), item.name.clone().into());
    p.insert("SPDXID".into(), spdx_id(item).into());
    if let Some(version) = &item.version {
        p.insert("versionInfo".into(), version.clone().into());
    }
    let location = item
        .location
        .as_deref()
        .filter(|l| is_spdx_location(l))
        .unwrap_or(NOASSERTION);
    p.insert("downloadLocation".into(), location.into());
    p.insert("filesAnalyzed".into(), false.into());
    if !item.sha256.is_empty() {
        let checksums: Vec<Value> = item
            .sha256
            .iter()
            .map(|h| json!({"algorithm": "SHA256", "checksumValue": h}))
            .collect();
        p.insert("checksums".into(), checksums.into());
    }
    p.insert(
        "externalRefs".into(),
        json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": item.purl,
        }]),
    );
    // Where it really comes from, also when downloadLocation cannot say.
    p.insert("sourceInfo".into(), item.description.clone().into());
    let purpose = match item.kind {
        Kind::Git | Kind::BranchPath => "SOURCE",
        Kind::Archive => "ARCHIVE",
        Kind::Python => "LIBRARY",
        Kind::Manifest => "FILE",
    };
    p.insert("primaryPackagePurpose".into(), purpose.into());
    let mut comment: Vec<String> = item
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if let Some(overridden) = &item.overridden {
        comment.insert(0, format!("OVERRIDDEN in this release by {overridden}"));
    }
    p.insert("comment".into(), comment.join("; ").into());
    Value::Object(p)
}

/// Whether SPDX's download-location grammar covers `location`: a URL (or
/// `vcs+URL`) on a named host. Local paths (`file://`) and hosts given by
/// address are not in it, so they are written as NOASSERTION, with the
/// real location in `sourceInfo` and the purl.
fn is_spdx_location(location: &str) -> bool {
    let url = ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .find_map(|vcs| location.strip_prefix(vcs))
        .unwrap_or(location);
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !["http", "https", "ssh", "git", "svn", "sftp", "ftp"].contains(&scheme) {
        return false;
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("");
    // A domain name: dotted labels, the last one (the top-level domain)
    // 2 to 5 letters.
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
        })
        && labels.last().is_some_and(|tld| {
            (2..=5).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_locations_are_urls_on_named_hosts() {
        assert!(is_spdx_location("https://git.example.org/lava.git"));
        assert!(is_spdx_location(
            "git+https://git.example.org/lava.git@1f2e"
        ));
        assert!(is_spdx_location(
            "git+ssh://git@git.example.org:22/lava.git@1f2e#sub/dir"
        ));
        assert!(!is_spdx_location("git+file:///srv/git/lava@1f2e"));
        assert!(!is_spdx_location("http://127.0.0.1:8000/theme.tar.gz"));
        assert!(!is_spdx_location("/srv/archive.tar.gz"));
    }
}
