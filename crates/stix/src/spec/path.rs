//! JSON paths, built on the stack while the rules walk an object and turned
//! into text only when a problem is reported: valid objects, the common case on
//! the ingest path, never pay for the string.

use std::fmt::Write;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub fn key<'b>(&'b self, key: &'b str) -> Path<'b>
    where
        'a: 'b,
    {
        Path::Key(self, key)
    }

    pub fn index<'b>(&'b self, index: usize) -> Path<'b>
    where
        'a: 'b,
    {
        Path::Index(self, index)
    }

    /// `$`, `$.kill_chain_phases[0].phase_name`, `$.hashes['SHA-256']`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(32);
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => out.push('$'),
            Path::Key(parent, key) => {
                parent.write(out);
                if is_plain_key(key) {
                    out.push('.');
                    out.push_str(key);
                } else {
                    out.push_str("['");
                    for c in key.chars() {
                        if c == '\'' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push_str("']");
                }
            }
            Path::Index(parent, index) => {
                parent.write(out);
                let _ = write!(out, "[{index}]");
            }
        }
    }
}

fn is_plain_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dotted_indexed_and_quoted_steps() {
        let root = Path::Root;
        let kcp = root.key("kill_chain_phases");
        let first = kcp.index(0);
        assert_eq!(
            first.key("phase_name").render(),
            "$.kill_chain_phases[0].phase_name"
        );
        let hashes = root.key("hashes");
        assert_eq!(hashes.key("SHA-256").render(), "$.hashes['SHA-256']");
        assert_eq!(root.key("it's").render(), "$['it\\'s']");
        assert_eq!(root.render(), "$");
    }
}
