import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BufferPool } from "../../src/arrow/_buffer_pool.ts";

describe("BufferPool", () => {
  test("hands back the smallest released buffer that fits, as a view of exactly the length asked", () => {
    const pool = new BufferPool();
    const large = pool.acquire(300_000);
    const medium = pool.acquire(200_000);
    assert.equal(large.byteLength, 300_000);
    assert.notEqual(large.buffer, medium.buffer);
    pool.release(large.buffer);
    pool.release(medium.buffer);
    const fit = pool.acquire(150_000);
    assert.equal(fit.buffer, medium.buffer, "the 200,000-byte buffer is the smallest that fits");
    assert.equal(fit.byteLength, 150_000);
    assert.equal(fit.byteOffset, 0);
    assert.equal(pool.acquire(250_000).buffer, large.buffer);
    assert.notEqual(pool.acquire(250_000).buffer, large.buffer, "a buffer is handed out once");
  });

  test("keeps no buffer under 64 KiB, none twice, and at most 8", () => {
    const pool = new BufferPool();
    const small = pool.acquire(1000);
    pool.release(small.buffer);
    assert.notEqual(pool.acquire(1000).buffer, small.buffer);
    const big = pool.acquire(1 << 16);
    pool.release(big.buffer);
    pool.release(big.buffer);
    assert.equal(pool.acquire(1 << 16).buffer, big.buffer);
    assert.notEqual(pool.acquire(1 << 16).buffer, big.buffer, "released twice, kept once");
    const buffers = Array.from({ length: 9 }, () => pool.acquire(1 << 17).buffer);
    for (const buffer of buffers) pool.release(buffer);
    const back = new Set(Array.from({ length: 9 }, () => pool.acquire(1 << 17).buffer));
    assert.equal(buffers.filter((buffer) => back.has(buffer)).length, 8);
    assert.ok(!back.has(buffers[0]!), "the oldest is dropped first");
  });

  test("ignores a SharedArrayBuffer", () => {
    const pool = new BufferPool();
    const shared = new SharedArrayBuffer(1 << 17);
    pool.release(shared);
    assert.notEqual(pool.acquire(1 << 17).buffer, shared);
  });
});
