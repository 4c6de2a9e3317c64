//! The keys and values of the positions a decoder has seen, per layer, allocated once for the
//! whole context, so that a decoding step computes only its new position; and the attention of
//! new positions over them.
//!
//! On a CPU device the cache is host memory, written in place and read in place by
//! [`tinderbox_ops::cached_attention`] (a decode step never copies or repeats the cache). On
//! other devices it is tensors updated with `slice_assign`, and the attention is burn's
//! operations.

use burn::prelude::*;
use tinderbox_ops::cached_attention::{CachedAttention, attend};
use tinderbox_ops::{on_host, softmax};

enum Storage {
    /// Per layer, keys and values `[B, kv_heads, capacity, head_dim]` in host memory.
    Host {
        keys: Vec<Vec<f32>>,
        values: Vec<Vec<f32>>,
    },
    /// Per layer, keys and values as tensors of the same shape.
    Device {
        keys: Vec<Tensor<4>>,
        values: Vec<Tensor<4>>,
    },
}

/// The cache of a decoder for a batch of sequences (left-padded to one length).
pub struct KvCache {
    storage: Storage,
    batch: usize,
    kv_heads: usize,
    head_dim: usize,
    len: usize,
    capacity: usize,
    /// `[row * capacity + position]`: true where the position is padding (never attended to).
    padding: Vec<bool>,
    /// Per row: the rotary position of its next token (padding takes none).
    next_position: Vec<usize>,
    /// The new positions of the step under way.
    step: usize,
    device: Device,
}

impl std::fmt::Debug for KvCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvCache")
            .field("batch", &self.batch)
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .field("host", &matches!(self.storage, Storage::Host { .. }))
            .finish()
    }
}

impl KvCache {
    /// An empty cache of `layers` layers for `batch` sequences of up to `capacity` positions,
    /// in host memory when `device` is a CPU device.
    pub fn new(
        layers: usize,
        batch: usize,
        kv_heads: usize,
        head_dim: usize,
        capacity: usize,
        device: &Device,
    ) -> Self {
        let size = batch * kv_heads * capacity * head_dim;
        let storage = if on_host(device) {
            Storage::Host {
                keys: vec![vec![0.0; size]; layers],
                values: vec![vec![0.0; size]; layers],
            }
        } else {
            let empty = || Tensor::zeros([batch, kv_heads, capacity, head_dim], device);
            Storage::Device {
                keys: (0..layers).map(|_| empty()).collect(),
                values: (0..layers).map(|_| empty()).collect(),
            }
        };
        Self {
            storage,
            batch,
            kv_heads,
            head_dim,
            len: 0,
            capacity,
            padding: vec![false; batch * capacity],
            next_position: vec![0; batch],
            step: 0,
            device: device.clone(),
        }
    }

    /// Positions filled (padding included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most positions it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The sequences it holds.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Reserves the next `padding[row].len()` positions (`padding[row][i]` saying which are
    /// padding) and returns the rotary position of each new token, row after row (padding
    /// repeats its row's next position).
    ///
    /// Fails when the positions would pass the capacity.
    pub(crate) fn begin_step(&mut self, padding: &[Vec<bool>]) -> Result<Vec<usize>, String> {
        let l = padding.first().map_or(0, Vec::len);
        if padding.len() != self.batch || padding.iter().any(|p| p.len() != l) {
            return Err(format!(
                "{} rows of padding flags for a cache of {} sequences",
                padding.len(),
                self.batch
            ));
        }
        if self.len + l > self.capacity {
            return Err(format!(
                "{} more positions do not fit a cache of {} holding {}",
                l, self.capacity, self.len
            ));
        }
        let mut positions = Vec::with_capacity(self.batch * l);
        for (row, pads) in padding.iter().enumerate() {
            for (i, &pad) in pads.iter().enumerate() {
                positions.push(self.next_position[row]);
                if !pad {
                    self.next_position[row] += 1;
                }
                self.padding[row * self.capacity + self.len + i] = pad;
            }
        }
        self.step = l;
        Ok(positions)
    }

    /// Stores layer `layer`'s new keys and values `[B, L, kv_heads, head_dim]` (rotated) at the
    /// reserved positions and returns the attention `[B, L, heads * head_dim]` of the queries
    /// `[B, L, heads, head_dim]` over every position so far, causal among the new ones.
    pub(crate) fn attend(
        &mut self,
        layer: usize,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
    ) -> Result<Tensor<3>, String> {
        let [b, l, heads, d] = q.dims();
        let scale = (d as f32).powf(-0.5);
        let (start, total) = (self.len, self.len + l);
        match &mut self.storage {
            Storage::Host { keys, values } => {
                let (kv, cap) = (self.kv_heads, self.capacity);
                // [B, L, kv, d] rows into [B, kv, capacity, d] at positions start..start + L.
                let place = |cache: &mut [f32], new: Tensor<4>| {
                    let new = host(new);
                    for (index, row) in new.chunks(d).enumerate() {
                        let g = index % kv;
                        let i = (index / kv) % l;
                        let row_b = index / (kv * l);
                        let at = ((row_b * kv + g) * cap + start + i) * d;
                        cache[at..at + d].copy_from_slice(row);
                    }
                };
                place(&mut keys[layer], k);
                place(&mut values[layer], v);
                let sizes = CachedAttention {
                    batch: b,
                    queries: l,
                    heads,
                    kv_heads: kv,
                    head_dim: d,
                    capacity: cap,
                    len: total,
                };
                let q = host(q);
                let mut out = vec![0.0; q.len()];
                attend(
                    sizes,
                    &q,
                    &keys[layer],
                    &values[layer],
                    &self.padding,
                    scale,
                    &mut out,
                )
                .map_err(|e| e.to_string())?;
                Ok(Tensor::from_data(
                    TensorData::new(out, [b, l, heads * d]),
                    &self.device,
                ))
            }
            Storage::Device { keys, values } => {
                let kv = self.kv_heads;
                let range = [0..b, 0..kv, start..total, 0..d];
                keys[layer] = keys[layer]
                    .clone()
                    .slice_assign(range.clone(), k.swap_dims(1, 2));
                values[layer] = values[layer].clone().slice_assign(range, v.swap_dims(1, 2));
                let past = [0..b, 0..kv, 0..total, 0..d];
                let group = heads / kv;
                let repeat = |x: Tensor<4>| {
                    x.reshape([b, kv, 1, total, d])
                        .expand([b, kv, group, total, d])
                        .reshape([b, heads, total, d])
                };
                let keys = repeat(keys[layer].clone().slice(past.clone()));
                let values = repeat(values[layer].clone().slice(past));
                let scores = q.swap_dims(1, 2).matmul(keys.swap_dims(2, 3)) * f64::from(scale);
                let scores = scores.mask_fill(self.mask(l), f32::MIN);
                Ok(softmax(scores, 3)
                    .matmul(values)
                    .swap_dims(1, 2)
                    .reshape([b, l, heads * d]))
            }
        }
    }

    /// `[B, 1, L, len + L]`: true where new query `i` may not look (later positions, padding).
    fn mask(&self, l: usize) -> Tensor<4, Bool> {
        let (start, total) = (self.len, self.len + l);
        let mut blocked = Vec::with_capacity(self.batch * l * total);
        for row in 0..self.batch {
            let pads = &self.padding[row * self.capacity..row * self.capacity + total];
            for i in 0..l {
                blocked.extend((0..total).map(|j| j > start + i || pads[j]));
            }
        }
        Tensor::from_data(
            TensorData::new(blocked, [self.batch, 1, l, total]),
            &self.device,
        )
    }

    /// Marks the positions reserved by the last [`begin_step`](Self::begin_step) as filled.
    pub(crate) fn end_step(&mut self) {
        self.len += self.step;
        self.step = 0;
    }

    /// Keeps row `rows[i]` as row `i` (beam search continues the best beams, whose parents may
    /// repeat or drop out).
    pub fn reorder(&mut self, rows: &[usize]) {
        let per_row = self.kv_heads * self.capacity * self.head_dim;
        match &mut self.storage {
            Storage::Host { keys, values } => {
                for buffer in keys.iter_mut().chain(values.iter_mut()) {
                    let old = buffer.clone();
                    for (to, &from) in rows.iter().enumerate() {
                        buffer[to * per_row..(to + 1) * per_row]
                            .copy_from_slice(&old[from * per_row..(from + 1) * per_row]);
                    }
                }
            }
            Storage::Device { keys, values } => {
                let index = Tensor::<1, Int>::from_data(
                    TensorData::new(
                        rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
                        [rows.len()],
                    ),
                    &self.device,
                );
                for t in keys.iter_mut().chain(values.iter_mut()) {
                    *t = t.clone().select(0, index.clone());
                }
            }
        }
        let cap = self.capacity;
        self.padding = rows
            .iter()
            .flat_map(|&r| self.padding[r * cap..(r + 1) * cap].to_vec())
            .collect();
        self.next_position = rows.iter().map(|&r| self.next_position[r]).collect();
    }
}

impl KvCache {
    /// Adds the sequences of `other` after this cache's own, both right-aligned to the longer
    /// of the two lengths (the new leading positions of the shorter side are padding, which
    /// nothing attends to). Sequences prefilled on their own join a running batch this way
    /// between decoding steps (continuous batching); rotary positions are per row and already
    /// applied to the cached keys, so moving positions changes no result.
    ///
    /// Fails when the two caches are of different models or storage, or the longer length does
    /// not fit this cache's capacity.
    pub fn append(&mut self, other: KvCache) -> Result<(), String> {
        let layers = |c: &KvCache| match &c.storage {
            Storage::Host { keys, .. } => keys.len(),
            Storage::Device { keys, .. } => keys.len(),
        };
        if (layers(self), self.kv_heads, self.head_dim)
            != (layers(&other), other.kv_heads, other.head_dim)
        {
            return Err(format!(
                "a cache of {} layers x {} heads x {} features cannot join one of {} x {} x {}",
                layers(&other),
                other.kv_heads,
                other.head_dim,
                layers(self),
                self.kv_heads,
                self.head_dim
            ));
        }
        let len = self.len.max(other.len);
        if len > self.capacity {
            return Err(format!(
                "{len} positions do not fit a cache of {}",
                self.capacity
            ));
        }
        let (shift, other_shift) = (len - self.len, len - other.len);
        let (kv, d, cap) = (self.kv_heads, self.head_dim, self.capacity);
        match (&mut self.storage, other.storage) {
            (
                Storage::Host { keys, values },
                Storage::Host {
                    keys: other_keys,
                    values: other_values,
                },
            ) => {
                let pairs = keys
                    .iter_mut()
                    .zip(other_keys)
                    .chain(values.iter_mut().zip(other_values));
                for (buffer, other_buffer) in pairs {
                    if shift > 0 {
                        for segment in 0..self.batch * kv {
                            let base = segment * cap * d;
                            buffer.copy_within(base..base + self.len * d, base + shift * d);
                        }
                    }
                    let start = buffer.len();
                    buffer.resize(start + other.batch * kv * cap * d, 0.0);
                    for segment in 0..other.batch * kv {
                        let from = segment * other.capacity * d;
                        let to = start + segment * cap * d + other_shift * d;
                        buffer[to..to + other.len * d]
                            .copy_from_slice(&other_buffer[from..from + other.len * d]);
                    }
                }
            }
            (
                Storage::Device { keys, values },
                Storage::Device {
                    keys: other_keys,
                    values: other_values,
                },
            ) => {
                let aligned = |t: Tensor<4>, rows: usize, from_len: usize, shift: usize| {
                    let moved = t.slice([0..rows, 0..kv, 0..from_len, 0..d]);
                    Tensor::zeros([rows, kv, cap, d], &self.device)
                        .slice_assign([0..rows, 0..kv, shift..shift + from_len, 0..d], moved)
                };
                let pairs = keys
                    .iter_mut()
                    .zip(other_keys)
                    .chain(values.iter_mut().zip(other_values));
                for (tensor, other_tensor) in pairs {
                    let mine = aligned(tensor.clone(), self.batch, self.len, shift);
                    let theirs = aligned(other_tensor, other.batch, other.len, other_shift);
                    *tensor = Tensor::cat(vec![mine, theirs], 0);
                }
            }
            _ => return Err("a host cache and a device cache cannot be joined".into()),
        }
        let mut padding = Vec::with_capacity((self.batch + other.batch) * cap);
        let rows = (0..self.batch)
            .map(|r| (&self.padding[r * cap..r * cap + self.len], shift))
            .chain((0..other.batch).map(|r| {
                let start = r * other.capacity;
                (&other.padding[start..start + other.len], other_shift)
            }));
        for (flags, shift) in rows {
            padding.extend(std::iter::repeat_n(true, shift));
            padding.extend_from_slice(flags);
            padding.extend(std::iter::repeat_n(false, cap - len));
        }
        self.padding = padding;
        self.next_position.extend(other.next_position);
        self.batch += other.batch;
        self.len = len;
        Ok(())
    }

    /// Keeps only the sequences `keep` (increasing row indices), in place: finished sequences
    /// leave a running batch this way. Out-of-range or unordered indices are an error.
    pub fn retain(&mut self, keep: &[usize]) -> Result<(), String> {
        if keep.windows(2).any(|w| w[0] >= w[1]) || keep.last().is_some_and(|&r| r >= self.batch) {
            return Err(format!(
                "rows {keep:?} are not increasing rows of a cache of {}",
                self.batch
            ));
        }
        let (kv, d, cap) = (self.kv_heads, self.head_dim, self.capacity);
        let per_row = kv * cap * d;
        match &mut self.storage {
            Storage::Host { keys, values } => {
                for buffer in keys.iter_mut().chain(values.iter_mut()) {
                    for (to, &from) in keep.iter().enumerate() {
                        if to != from {
                            buffer.copy_within(from * per_row..(from + 1) * per_row, to * per_row);
                        }
                    }
                    buffer.truncate(keep.len() * per_row);
                }
            }
            Storage::Device { keys, values } => {
                if keep.is_empty() {
                    for t in keys.iter_mut().chain(values.iter_mut()) {
                        *t = Tensor::zeros([0, kv, cap, d], &self.device);
                    }
                } else {
                    let index = Tensor::<1, Int>::from_data(
                        TensorData::new(
                            keep.iter().map(|&r| r as i64).collect::<Vec<_>>(),
                            [keep.len()],
                        ),
                        &self.device,
                    );
                    for t in keys.iter_mut().chain(values.iter_mut()) {
                        *t = t.clone().select(0, index.clone());
                    }
                }
            }
        }
        self.padding = keep
            .iter()
            .flat_map(|&r| self.padding[r * cap..(r + 1) * cap].to_vec())
            .collect();
        self.next_position = keep.iter().map(|&r| self.next_position[r]).collect();
        self.batch = keep.len();
        if self.batch == 0 {
            self.len = 0;
        }
        Ok(())
    }

    /// Drops the leading positions that are padding in every sequence (left behind by
    /// sequences that left or were shorter), so that the batch's length is its longest
    /// sequence's and the capacity is not used up by positions nobody reads.
    pub fn trim_front(&mut self) {
        let cap = self.capacity;
        let k = (0..self.batch)
            .map(|r| {
                self.padding[r * cap..r * cap + self.len]
                    .iter()
                    .take_while(|&&p| p)
                    .count()
            })
            .min()
            .unwrap_or(self.len);
        if k == 0 {
            return;
        }
        let (kv, d, len) = (self.kv_heads, self.head_dim, self.len);
        match &mut self.storage {
            Storage::Host { keys, values } => {
                for buffer in keys.iter_mut().chain(values.iter_mut()) {
                    for segment in 0..self.batch * kv {
                        let base = segment * cap * d;
                        buffer.copy_within(base + k * d..base + len * d, base);
                    }
                }
            }
            Storage::Device { keys, values } => {
                let b = self.batch;
                for t in keys.iter_mut().chain(values.iter_mut()) {
                    let kept = t.clone().slice([0..b, 0..kv, k..len, 0..d]);
                    *t = Tensor::zeros([b, kv, cap, d], &self.device)
                        .slice_assign([0..b, 0..kv, 0..len - k, 0..d], kept);
                }
            }
        }
        for r in 0..self.batch {
            let row = &mut self.padding[r * cap..(r + 1) * cap];
            row.copy_within(k..len, 0);
            row[len - k..len].fill(false);
        }
        self.len -= k;
    }
}

/// A tensor's values on the host, row-major.
fn host<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::{CausalLm, LlamaConfig};
    use burn::prelude::*;

    fn tiny(device: &Device) -> super::super::Llama {
        LlamaConfig {
            max_position_embeddings: 64,
            rms_norm_eps: 1e-5,
            ..LlamaConfig::new(50, 16, 32, 2, 4, 2)
        }
        .init(device)
        .unwrap()
    }

    fn ids(rows: &[&[u32]], device: &Device) -> Tensor<2, Int> {
        let flat: Vec<i64> = rows
            .iter()
            .flat_map(|r| r.iter().map(|&i| i as i64))
            .collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), rows[0].len()]), device)
    }

    fn logits(
        model: &super::super::Llama,
        rows: &[&[u32]],
        cache: &mut super::KvCache,
    ) -> Vec<Vec<f32>> {
        let device = Device::default();
        let padding = vec![vec![false; rows[0].len()]; rows.len()];
        let out: Vec<f32> = model
            .forward_last(ids(rows, &device), &padding, cache)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        out.chunks(50).map(<[f32]>::to_vec).collect()
    }

    /// One sequence fed `prompt` then `steps` one token at a time, alone in its cache: the
    /// logits after each step.
    fn alone(model: &super::super::Llama, prompt: &[u32], steps: &[u32]) -> Vec<Vec<f32>> {
        let mut cache = model.new_cache(1, 32);
        let mut out = vec![logits(model, &[prompt], &mut cache).remove(0)];
        for &t in steps {
            out.push(logits(model, &[&[t]], &mut cache).remove(0));
        }
        out
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-5, "{what}: logits differ by {worst}");
    }

    #[test]
    fn sequences_that_join_and_leave_a_running_batch_decode_as_they_would_alone() {
        let device = Device::default();
        let model = tiny(&device);
        let (a, b, c): (&[u32], &[u32], &[u32]) = (
            &[3, 8, 1, 9, 4],
            &[7, 2, 11],
            &[5, 6, 13, 17, 19, 23, 29, 31],
        );
        let ref_a = alone(&model, a, &[10, 12, 14, 16]);
        let ref_b = alone(&model, b, &[20, 22, 24]);
        let ref_c = alone(&model, c, &[30, 32]);

        // A runs one step, then B (shorter) joins: B is right-aligned behind padding.
        let mut running = model.new_cache(1, 32);
        close(
            &logits(&model, &[a], &mut running)[0],
            &ref_a[0],
            "A's prompt",
        );
        close(
            &logits(&model, &[&[10]], &mut running)[0],
            &ref_a[1],
            "A step 1",
        );
        let mut joining = model.new_cache(1, b.len());
        close(
            &logits(&model, &[b], &mut joining)[0],
            &ref_b[0],
            "B's prompt",
        );
        running.append(joining).unwrap();
        assert_eq!((running.batch(), running.len()), (2, 6));
        let step = logits(&model, &[&[12], &[20]], &mut running);
        close(&step[0], &ref_a[2], "A step 2 beside B");
        close(&step[1], &ref_b[1], "B step 1 beside A");

        // C, longer than the batch so far, joins: A and B move right behind new padding.
        let mut joining = model.new_cache(1, c.len());
        logits(&model, &[c], &mut joining);
        running.append(joining).unwrap();
        assert_eq!((running.batch(), running.len()), (3, 8));
        let step = logits(&model, &[&[14], &[22], &[30]], &mut running);
        close(&step[0], &ref_a[3], "A step 3");
        close(&step[1], &ref_b[2], "B step 2");
        close(&step[2], &ref_c[1], "C step 1");

        // C leaves (it is the longest): the padding in front of A and B is trimmed away.
        running.retain(&[0, 1]).unwrap();
        running.trim_front();
        assert_eq!((running.batch(), running.len()), (2, 8));
        let step = logits(&model, &[&[16], &[24]], &mut running);
        close(&step[0], &ref_a[4], "A step 4 after C left");
        close(&step[1], &ref_b[3], "B step 3 after C left");

        // A leaves: B's six positions (3 prompt, 3 steps) are the last six of nine.
        running.retain(&[1]).unwrap();
        running.trim_front();
        assert_eq!((running.batch(), running.len()), (1, 6));
        running.retain(&[]).unwrap();
        assert_eq!((running.batch(), running.len()), (0, 0));
        assert!(running.retain(&[1, 0]).is_err());
        let mut small = model.new_cache(1, 4);
        let mut long = model.new_cache(1, 8);
        logits(&model, &[c], &mut long);
        assert!(small.append(long).unwrap_err().contains("do not fit"));
    }
}
