//! Appeal photos: the type is taken from the content (never from the name
//! or the declared type), and EXIF (GPS position, device) and XMP are
//! removed before the file is stored, with `img-parts` rewriting the
//! container without re-encoding the image.

use bytes::Bytes;
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;
use img_parts::webp::WebP;
use img_parts::{ImageEXIF, ImageICC};

pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_PHOTOS: usize = 5;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoError {
    #[error("photo {0} is not a JPEG, PNG or WebP image")]
    NotAnImage(usize),
    #[error("photo {0} is larger than 10 MB")]
    TooLarge(usize),
    #[error("photo {0} cannot be read: {1}")]
    Broken(usize, String),
}

pub struct CleanPhoto {
    pub media_type: &'static str,
    pub extension: &'static str,
    pub bytes: Vec<u8>,
}

pub fn sniff(data: &[u8]) -> Option<(&'static str, &'static str)> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

/// Checks one photo (number `n`, 1-based, for messages) and strips its metadata.
pub fn clean(n: usize, data: Bytes) -> Result<CleanPhoto, PhotoError> {
    if data.len() > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge(n));
    }
    let (media_type, extension) = sniff(&data).ok_or(PhotoError::NotAnImage(n))?;
    let broken = |e: img_parts::Error| PhotoError::Broken(n, e.to_string());
    let bytes = match media_type {
        "image/jpeg" => {
            let mut jpeg = Jpeg::from_bytes(data).map_err(broken)?;
            jpeg.set_exif(None);
            // APP1 also carries XMP (which may hold GPS too); APP13 carries IPTC.
            jpeg.segments_mut()
                .retain(|s| s.marker() != markers::APP1 && s.marker() != markers::APP13);
            jpeg.encoder().bytes().to_vec()
        }
        "image/png" => {
            let mut png = Png::from_bytes(data).map_err(broken)?;
            png.set_exif(None);
            // Text chunks hold XMP and free-form metadata.
            png.chunks_mut()
                .retain(|c| !matches!(&c.kind(), b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME"));
            png.encoder().bytes().to_vec()
        }
        _ => {
            let mut webp = WebP::from_bytes(data).map_err(broken)?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(*b"XMP ");
            let icc = webp.icc_profile();
            webp.set_icc_profile(icc);
            webp.encoder().bytes().to_vec()
        }
    };
    Ok(CleanPhoto {
        media_type,
        extension,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 JPEG with an EXIF block holding a GPS tag marker.
    pub fn jpeg_with_exif() -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        let exif = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude=50.25";
        v.extend_from_slice(&[0xFF, 0xE1]);
        v.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(exif);
        // a minimal baseline JPEG body is not needed for container parsing:
        // start of scan with an empty payload, then end of image
        v.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
        v.extend_from_slice(&[0x00, 0xFF, 0xD9]);
        v
    }

    #[test]
    fn types_come_from_the_content() {
        assert_eq!(sniff(b"GIF89a...."), None);
        assert_eq!(sniff(&jpeg_with_exif()).map(|t| t.0), Some("image/jpeg"));
        assert!(matches!(
            clean(2, Bytes::from_static(b"<svg></svg>")),
            Err(PhotoError::NotAnImage(2))
        ));
    }

    #[test]
    fn exif_is_removed_from_jpeg() {
        let data = jpeg_with_exif();
        assert!(data.windows(11).any(|w| w == b"GPSLatitude"));
        let clean = clean(1, Bytes::from(data)).unwrap();
        assert!(!clean.bytes.windows(11).any(|w| w == b"GPSLatitude"));
        assert!(!clean.bytes.windows(4).any(|w| w == b"Exif"));
        assert!(clean.bytes.starts_with(&[0xFF, 0xD8]));
    }
}
