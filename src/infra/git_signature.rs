//! The signature of a git commit or annotated tag and the bytes it signs,
//! split exactly as `git verify-commit` / `git verify-tag` split them, so
//! that what OpenSSH checks is what git would check.

use anyhow::{Context, Result};
use git2::{ObjectType, Oid, Repository};

use crate::core::trust::split_tag_signature;

/// A commit or tag object, its signature (if any) and the bytes signed.
#[derive(Debug, Clone)]
pub struct SignedObject {
    pub id: Oid,
    /// The committer's or tagger's time (Unix seconds): git checks a key's
    /// validity window at this time, not at the time of checking.
    pub time: Option<i64>,
    pub payload: Vec<u8>,
    pub signature: Option<Vec<u8>>,
}

/// A commit and its `gpgsig` header.
pub fn commit(repo: &Repository, id: Oid) -> Result<SignedObject> {
    let commit = repo
        .find_commit(id)
        .with_context(|| format!("commit {id} is not in {}", repo.path().display()))?;
    let (signature, payload) = match repo.extract_signature(&id, None) {
        Ok((signature, payload)) => (Some(signature.to_vec()), payload.to_vec()),
        Err(err) if err.code() == git2::ErrorCode::NotFound => {
            let odb = repo.odb()?;
            let raw = odb.read(id)?;
            (None, raw.data().to_vec())
        }
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read the signature of commit {id}"))
        }
    };
    let time = commit.committer().when().seconds();
    Ok(SignedObject {
        id,
        time: Some(time),
        payload,
        signature,
    })
}

/// The annotated tag `refs/tags/<name>` and the commit it leads to, or
/// `None` when there is no such tag or it is a lightweight one (a plain
/// reference to a commit, with nothing to sign).
pub fn annotated_tag(repo: &Repository, name: &str) -> Result<Option<(SignedObject, Oid)>> {
    let Ok(reference) = repo.find_reference(&format!("refs/tags/{name}")) else {
        return Ok(None);
    };
    let Some(target) = reference.target() else {
        return Ok(None);
    };
    let object = repo.find_object(target, None)?;
    if object.kind() != Some(ObjectType::Tag) {
        return Ok(None);
    }
    let tag = object.peel_to_tag()?;
    let commit = tag
        .as_object()
        .peel_to_commit()
        .with_context(|| format!("tag {name} does not lead to a commit"))?
        .id();
    let odb = repo.odb()?;
    let raw = odb.read(target)?;
    let (payload, signature) = split_tag_signature(raw.data());
    Ok(Some((
        SignedObject {
            id: target,
            time: tag.tagger().map(|t| t.when().seconds()),
            payload: payload.to_vec(),
            signature: signature.map(<[u8]>::to_vec),
        },
        commit,
    )))
}
