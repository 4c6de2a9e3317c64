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

/// A tensor's values on the host, row-major.
fn host<const D: usize>(x: Tensor<D>) -> Vec<f32> {
    x.into_data()
        .convert::<f32>()
        .try_into_vec()
        .unwrap_or_default()
}
