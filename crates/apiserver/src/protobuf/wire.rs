//! The protobuf wire format, read one field at a time.
//!
//! A message is a sequence of fields. Each starts with a varint *key*,
//! `field_number << 3 | wire_type`, followed by the value:
//!
//! | wire type | name     | value                                        |
//! |-----------|----------|----------------------------------------------|
//! | 0         | VARINT   | base-128 varint (int32, int64, bool, enums)  |
//! | 1         | I64      | 8 bytes little-endian (fixed64, double)      |
//! | 2         | LEN      | varint length, then that many bytes (string, bytes, nested message, packed repeated) |
//! | 5         | I32      | 4 bytes little-endian (fixed32, float)       |
//!
//! Wire types 3 and 4 (proto2 groups) are obsolete and nothing in Kubernetes
//! uses them; they are rejected like any other malformed input. The reader
//! never panics and never reads past its buffer: every length is checked.

use thiserror::Error;

/// Why bytes are not a well-formed protobuf message.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum WireError {
    #[error("unexpected end of input")]
    Truncated,
    #[error("varint longer than 10 bytes")]
    VarintTooLong,
    #[error("invalid wire type {0}")]
    BadWireType(u8),
    #[error("invalid field number 0")]
    FieldZero,
}

/// One field value as it appears on the wire, before the schema gives it a
/// meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireValue<'a> {
    Varint(u64),
    I64(u64),
    Len(&'a [u8]),
    I32(u32),
}

impl WireValue<'_> {
    /// The wire type's name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            WireValue::Varint(_) => "varint",
            WireValue::I64(_) => "fixed64",
            WireValue::Len(_) => "length-delimited",
            WireValue::I32(_) => "fixed32",
        }
    }
}

/// Iterates over the `(field number, value)` pairs of one message.
///
/// After the first error it yields nothing more.
pub struct Reader<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, failed: false }
    }

    fn field(&mut self) -> Result<(u32, WireValue<'a>), WireError> {
        let key = read_varint(&mut self.buf)?;
        let wire_type = (key & 7) as u8;
        // Field numbers are at most 2^29 - 1; anything larger is malformed
        // and will be reported as an unknown field by the caller.
        let number = u32::try_from(key >> 3).unwrap_or(u32::MAX);
        if number == 0 {
            return Err(WireError::FieldZero);
        }
        let value = match wire_type {
            0 => WireValue::Varint(read_varint(&mut self.buf)?),
            1 => WireValue::I64(u64::from_le_bytes(take_array(&mut self.buf)?)),
            2 => {
                let len = read_varint(&mut self.buf)?;
                let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
                WireValue::Len(take(&mut self.buf, len)?)
            }
            5 => WireValue::I32(u32::from_le_bytes(take_array(&mut self.buf)?)),
            other => return Err(WireError::BadWireType(other)),
        };
        Ok((number, value))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, WireValue<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() || self.failed {
            return None;
        }
        let item = self.field();
        self.failed = item.is_err();
        Some(item)
    }
}

/// Reads one base-128 varint: 7 bits per byte, least significant first, the
/// high bit set on every byte but the last.
pub fn read_varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let (&byte, rest) = buf.split_first().ok_or(WireError::Truncated)?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::VarintTooLong)
}

fn take<'a>(buf: &mut &'a [u8], len: usize) -> Result<&'a [u8], WireError> {
    if buf.len() < len {
        return Err(WireError::Truncated);
    }
    let (head, rest) = buf.split_at(len);
    *buf = rest;
    Ok(head)
}

fn take_array<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N], WireError> {
    let bytes = take(buf, N)?;
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, WireError> {
        Reader::new(buf).collect()
    }

    #[test]
    fn reads_each_wire_type() {
        // 1: varint 150, 2: "hi", 3: fixed64 1, 4: fixed32 2
        let buf = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0,
            0,
        ];
        assert_eq!(
            fields(&buf).unwrap(),
            vec![
                (1, WireValue::Varint(150)),
                (2, WireValue::Len(b"hi")),
                (3, WireValue::I64(1)),
                (4, WireValue::I32(2)),
            ]
        );
    }

    #[test]
    fn negative_int32_is_a_ten_byte_varint() {
        let mut buf: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_varint(&mut buf).unwrap() as i64, -1);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(fields(&[0x08]), Err(WireError::Truncated));
        assert_eq!(fields(&[0x12, 0x05, b'a']), Err(WireError::Truncated));
        assert_eq!(fields(&[0x0b]), Err(WireError::BadWireType(3)));
        assert_eq!(fields(&[0x00, 0x00]), Err(WireError::FieldZero));
        let mut long = vec![0x08];
        long.extend([0xff; 11]);
        assert_eq!(fields(&long), Err(WireError::VarintTooLong));
        assert_eq!(fields(&[0x19, 1, 2]), Err(WireError::Truncated));
        // A length that does not fit in memory.
        assert_eq!(
            fields(&[
                0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ]),
            Err(WireError::Truncated)
        );
    }
}
