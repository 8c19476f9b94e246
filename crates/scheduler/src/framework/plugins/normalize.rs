//! Score normalization shared by several plugins.

/// The best score a plugin gives a node (upstream's `MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// Upstream's `helper.DefaultNormalizeScore`: scales raw scores so that the
/// largest becomes 100 (`score * 100 / max`, integer division). With
/// `reverse`, lower raw scores are better (`100 - scaled`). When every raw
/// score is 0, all become 0, or all 100 with `reverse`.
pub fn default_normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    if max <= 0 {
        if reverse {
            scores.fill(MAX_NODE_SCORE);
        }
        return;
    }
    for s in scores.iter_mut() {
        let scaled = MAX_NODE_SCORE.saturating_mul(*s) / max;
        *s = if reverse {
            MAX_NODE_SCORE - scaled
        } else {
            scaled
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_the_maximum() {
        let mut s = [0, 1, 3];
        default_normalize(&mut s, false);
        assert_eq!(s, [0, 33, 100]);
        let mut s = [0, 1, 3];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 67, 0]);
        let mut s = [0, 0];
        default_normalize(&mut s, true);
        assert_eq!(s, [100, 100]);
        let mut s = [0, 0];
        default_normalize(&mut s, false);
        assert_eq!(s, [0, 0]);
    }
}
