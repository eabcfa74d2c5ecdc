//! DIRECTORY_RESP paging: splitting an answer into pages a receiver's limits accept, and
//! merging the pages of an answer back together until the final one.
//!
//! A responder splits a directory larger than the asker's limits into several pages with the same
//! request id, only the last flagged LAST ([`crate::wire::spot::DirectoryPage`]). The asker feeds
//! every page to a [`DirectoryAssembler`] and applies the merged answer once, with
//! [`super::TopicDirectory::apply_directory`]: applying page by page would replace an owner's set
//! with a partial one when the owner is split across pages.

use std::collections::BTreeMap;

use crate::wire::spot::{DirectoryPage, NodeId, OwnedTopics, Topic, TopicOwner};

/// Why a page was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageRefusal {
    /// The page answers another request.
    WrongRequest {
        /// The request id the assembler waits for.
        expected: u32,
        /// The page's request id.
        got: u32,
    },
    /// The merged answer would exceed the assembler's bound on topics; the answer is abandoned.
    TooLarge,
    /// The final page arrived already.
    Finished,
}

/// Merges the pages of one DIRECTORY_RESP answer (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct DirectoryAssembler {
    request_id: u32,
    max_topics: usize,
    topics: usize,
    owners: BTreeMap<NodeId, OwnedTopics>,
    finished: bool,
}

impl DirectoryAssembler {
    /// Waits for the pages of `request_id`, holding at most `max_topics` topics in all.
    pub fn new(request_id: u32, max_topics: usize) -> Self {
        DirectoryAssembler {
            request_id,
            max_topics,
            topics: 0,
            owners: BTreeMap::new(),
            finished: false,
        }
    }

    /// The request id awaited.
    pub fn request_id(&self) -> u32 {
        self.request_id
    }

    /// Takes one page. Returns the merged answer (owners sorted by id, an owner's topics in
    /// arrival order) when `page` is the final one, `Ok(None)` while more are expected.
    pub fn push(&mut self, page: DirectoryPage) -> Result<Option<Vec<OwnedTopics>>, PageRefusal> {
        if self.finished {
            return Err(PageRefusal::Finished);
        }
        if page.request_id != self.request_id {
            return Err(PageRefusal::WrongRequest {
                expected: self.request_id,
                got: page.request_id,
            });
        }
        let added = page.topic_count();
        if self.topics.saturating_add(added) > self.max_topics {
            self.finished = true;
            self.owners.clear();
            return Err(PageRefusal::TooLarge);
        }
        self.topics += added;
        for entry in page.owners {
            match self.owners.get_mut(&entry.owner.id) {
                Some(merged) => {
                    merged.owner = entry.owner;
                    merged.topics.extend(entry.topics);
                }
                None => {
                    self.owners.insert(entry.owner.id.clone(), entry);
                }
            }
        }
        if !page.last {
            return Ok(None);
        }
        self.finished = true;
        Ok(Some(core::mem::take(&mut self.owners).into_values().collect()))
    }

    /// Whether the final page has arrived (or the answer was abandoned).
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

/// Splits owner groups into pages of at most `max_per_page` entries.
pub(crate) fn paginate(
    request_id: u32,
    groups: Vec<(TopicOwner, Vec<Topic>)>,
    max_per_page: usize,
) -> Vec<DirectoryPage> {
    let mut pages = Vec::new();
    let mut current: Vec<OwnedTopics> = Vec::new();
    let mut used = 0usize;
    for (owner, topics) in groups {
        if topics.is_empty() {
            if used >= max_per_page {
                pages.push(page(request_id, &mut current));
                used = 0;
            }
            current.push(OwnedTopics { owner, topics });
            used += 1;
            continue;
        }
        let mut rest = topics.as_slice();
        while !rest.is_empty() {
            if used >= max_per_page {
                pages.push(page(request_id, &mut current));
                used = 0;
            }
            let take = (max_per_page - used).min(rest.len());
            let (chunk, tail) = rest.split_at(take);
            current.push(OwnedTopics { owner: owner.clone(), topics: chunk.to_vec() });
            used += take;
            rest = tail;
        }
    }
    if !current.is_empty() || pages.is_empty() {
        pages.push(page(request_id, &mut current));
    }
    if let Some(last) = pages.last_mut() {
        last.last = true;
    }
    pages
}

fn page(request_id: u32, owners: &mut Vec<OwnedTopics>) -> DirectoryPage {
    DirectoryPage { request_id, last: false, owners: core::mem::take(owners) }
}
