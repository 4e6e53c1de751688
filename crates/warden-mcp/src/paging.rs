//! Cursor pagination for the aggregated lists (tools, prompts, resources, templates),
//! so a gateway in front of many upstreams never sends one enormous list.
//!
//! The cursor is opaque to clients; here it is the offset of the next page. Lists
//! are rebuilt only when an upstream's list changes, and then clients are told to
//! list again, so an offset stays meaningful for the life of a listing.

use rmcp::ErrorData as McpError;
use rmcp::model::PaginatedRequestParams;

/// Items per page.
pub const PAGE_SIZE: usize = 500;

/// The page of `items` that `request`'s cursor asks for, and the next cursor.
pub fn page<T: Clone>(
    items: &[T],
    request: Option<&PaginatedRequestParams>,
    page_size: usize,
) -> Result<(Vec<T>, Option<String>), McpError> {
    let start = match request.and_then(|r| r.cursor.as_deref()) {
        None => 0,
        Some(cursor) => cursor
            .strip_prefix("o")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= items.len())
            .ok_or_else(|| McpError::invalid_params("invalid or expired cursor", None))?,
    };
    let end = (start + page_size.max(1)).min(items.len());
    let next = (end < items.len()).then(|| format!("o{end}"));
    Ok((items[start..end].to_vec(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cursor: &str) -> PaginatedRequestParams {
        let mut r = PaginatedRequestParams::default();
        r.cursor = Some(cursor.to_string());
        r
    }

    #[test]
    fn pages_cover_the_list_exactly_once() {
        let items: Vec<u32> = (0..7).collect();
        let (first, next) = page(&items, None, 3).expect("first page");
        assert_eq!((first, next.as_deref()), (vec![0, 1, 2], Some("o3")));
        let (second, next) = page(&items, Some(&request("o3")), 3).expect("second page");
        assert_eq!((second, next.as_deref()), (vec![3, 4, 5], Some("o6")));
        let (last, next) = page(&items, Some(&request("o6")), 3).expect("last page");
        assert_eq!((last, next), (vec![6], None));
        let (all, next) = page(&items, None, PAGE_SIZE).expect("one page");
        assert_eq!((all.len(), next), (7, None));
    }

    #[test]
    fn bad_cursors_are_invalid_params() {
        let items = [1, 2, 3];
        for bad in ["", "3", "o9", "o-1", "oabc"] {
            let err = page(&items, Some(&request(bad)), 2).expect_err(bad);
            assert_eq!(err.code, rmcp::model::ErrorCode::INVALID_PARAMS, "{bad}");
        }
    }
}
