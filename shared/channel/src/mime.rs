//! MIME types of attachments whose provider names only a file (an extension, a URL) or a kind.
//! A type is given only when the file says what it is; a kind alone (`image`) gives the media
//! range (`image/*`), never a guessed subtype.

/// The MIME type of a file extension (without the dot, any case), for the formats customers
/// send; `None` for an extension we do not know.
pub fn of_extension(extension: &str) -> Option<&'static str> {
    let mime = match extension.trim().to_ascii_lowercase().as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "zip" => "application/zip",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        _ => return None,
    };
    Some(mime)
}

/// The MIME type of the file a URL names, by the extension of its last path segment (query and
/// fragment ignored): `https://cdn/x/4411_n.jpg?_nc=1` → `image/jpeg`.
pub fn of_url(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let path = path.split_once("://").map_or(path, |(_, rest)| rest.split_once('/').map_or("", |(_, path)| path));
    let file = path.rsplit('/').next().unwrap_or_default();
    let (stem, extension) = file.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    of_extension(extension)
}

/// The media range of a media kind (`image`, `video`, `audio`), for a file of that kind whose
/// exact type is unknown.
pub fn range_of_kind(kind: &str) -> Option<&'static str> {
    match kind.trim().to_ascii_lowercase().as_str() {
        "image" => Some("image/*"),
        "video" => Some("video/*"),
        "audio" => Some("audio/*"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_urls_give_their_type_and_unknown_ones_none() {
        assert_eq!(of_extension("PDF"), Some("application/pdf"));
        assert_eq!(of_extension("exe"), None);
        assert_eq!(of_url("https://scontent.xx.fbcdn.net/v/t1.15752-9/4411_n.jpg?_nc_cat=1&oh=x.png"), Some("image/jpeg"));
        assert_eq!(of_url("https://cdn.fbsbx.com/v/t59.2708-21/faktura.pdf#page=2"), Some("application/pdf"));
        for url in ["https://example.cz/download?id=1", "https://example.cz", "https://example.cz/.png", "https://a.cz/file.bin"]
        {
            assert_eq!(of_url(url), None, "{url}");
        }
    }

    #[test]
    fn a_kind_alone_gives_only_its_media_range() {
        assert_eq!(range_of_kind("image"), Some("image/*"));
        assert_eq!(range_of_kind("file"), None);
    }
}
