#!/usr/bin/python3
"""PyTorch peer of `quest bench train` (not run by the tests).

Same model (RMSNorm, RoPE, grouped-query attention, SwiGLU, tied embeddings), same shapes, same optimiser
(AdamW, grad clipping) and the same timing (median of timed steps after warm-up steps). Prints one JSON line.
Needs Debian's python3-torch (apt-get install python3-torch; 1.13 there, which has no
F.scaled_dot_product_attention, so attention falls back to an explicit masked softmax when it is missing).

    /usr/bin/python3 tests/Quest.Models.Tests/bench/train_bench.py --layers 4 --d-model 128 --heads 4 --kv-heads 2 \
        --ffn 352 --vocab 4096 --batch 8 --seq-len 256 --steps 20 --warmup 5
"""
import argparse, json, math, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


class Attention(nn.Module):
    def __init__(self, d, h, kv):
        super().__init__()
        self.h, self.kv, self.hd = h, kv, d // h
        self.q_proj = nn.Linear(d, h * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv * self.hd, bias=False)
        self.o_proj = nn.Linear(h * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        g = self.h // self.kv
        if g > 1:
            k = k.unsqueeze(2).expand(B, self.kv, g, T, self.hd).reshape(B, self.h, T, self.hd)
            v = v.unsqueeze(2).expand(B, self.kv, g, T, self.hd).reshape(B, self.h, T, self.hd)
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            y = att @ v
        return self.o_proj(y.transpose(1, 2).reshape(B, T, -1))


class Block(nn.Module):
    def __init__(self, d, h, kv, ffn):
        super().__init__()
        self.input_layernorm = RMSNorm(d)
        self.self_attn = Attention(d, h, kv)
        self.post_attention_layernorm = RMSNorm(d)
        self.gate_proj = nn.Linear(d, ffn, bias=False)
        self.up_proj = nn.Linear(d, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = nn.Embedding(a.vocab, a.d_model)
        self.layers = nn.ModuleList([Block(a.d_model, a.heads, a.kv_heads, a.ffn) for _ in range(a.layers)])
        self.norm = RMSNorm(a.d_model)
        hd = a.d_model // a.heads
        inv = 10000.0 ** (-torch.arange(0, hd // 2, dtype=torch.float64) / (hd // 2))
        ang = torch.outer(torch.arange(a.seq_len, dtype=torch.float64), inv)
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)
        self.register_buffer("mask", torch.ones(a.seq_len, a.seq_len, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, ids):
        T = ids.shape[1]
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x) @ self.embed_tokens.weight.t()


def matmul_gflops(n=1024, reps=8):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: (a @ b).sum().item()) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser()
    for name, default in [("layers", 4), ("d-model", 128), ("heads", 4), ("kv-heads", 2), ("ffn", 352), ("vocab", 4096),
                          ("batch", 8), ("seq-len", 256), ("steps", 20), ("warmup", 5), ("threads", 0)]:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Model(a)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    times, cpu = [], []
    for i in range(a.warmup + a.steps):
        t = time.perf_counter()
        c = time.process_time()
        x = torch.randint(0, a.vocab, (a.batch, a.seq_len + 1))
        opt.zero_grad()
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()
        if i >= a.warmup:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    med = statistics.median(times)
    params = sum(p.numel() for p in model.parameters())
    tok_s = a.batch * a.seq_len / med
    d, hd = a.d_model, a.d_model // a.heads
    non_emb = params - a.vocab * d
    fwd = 2 * (non_emb + a.vocab * d) + 4 * a.layers * (a.seq_len // 2) * d
    print(json.dumps({"bench": "train", "impl": "pytorch " + torch.__version__, "layers": a.layers, "d_model": d, "heads": a.heads,
                      "kv_heads": a.kv_heads, "vocab": a.vocab, "seq_len": a.seq_len, "batch": a.batch, "ffn": a.ffn, "params": params,
                      "threads": torch.get_num_threads(), "steps": a.steps, "step_ms_median": round(med * 1000, 2),
                      "step_ms_min": round(min(times) * 1000, 2), "tokens_per_s": round(tok_s, 1),
                      "cpu_ms_per_step_median": round(statistics.median(cpu) * 1000, 2),
                      "tokens_per_cpu_s": round(a.batch * a.seq_len / statistics.median(cpu), 1),
                      "model_gflops": round(tok_s * 3 * fwd / 1e9, 2), "machine_matmul_gflops": round(matmul_gflops(), 2)}))


if __name__ == "__main__":
    main()
