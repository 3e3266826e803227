#!/usr/bin/env python3
"""Golden fixtures for the evaluation metrics in src/eval (test/fixtures/eval/*.json).

Run with the system interpreter, which has the reference libraries (scipy 1.10, scikit-learn 1.2, numpy and,
after `apt-get install python3-nltk`, nltk 3.8):

    /usr/bin/python3 tools/golden/metrics.py

Every number comes from the library the published benchmarks use, or from a plain numpy transcription of the
reference code where that code needs a model (open-unlearning src/evals/metrics, TOFU aggregate_eval_stat.py,
MUSE metrics/privleak.py):

- ks.json          scipy.stats.ks_2samp (method='auto'), scipy.stats.kstwo.sf, scipy.special.smirnov
- auc.json         sklearn.metrics.roc_auc_score
- rouge.json       rouge-score's ROUGE-L (tokenize.py + _score_lcs, re-implemented here because the package is not
                   installed) with nltk's PorterStemmer() in its default NLTK_EXTENSIONS mode, as rouge-score's
                   DefaultTokenizer(use_stemmer=True) constructs it
- porter.json      nltk PorterStemmer().stem on a word list
- scores.json      truth ratio and its aggregates, TOFU's option-normalised probability, scipy.stats.hmean,
                   Min-K%, Min-K%++ (open-unlearning's formulas) on synthetic log-probabilities
- zlib.json        len(zlib.compress(text.encode('utf-8'))) (open-unlearning's and MUSE's zlib "entropy")

Data are drawn from numpy generators with fixed seeds, so the output is deterministic.
"""
import json
import math
import os
import re
import sys
import zlib

import numpy as np
import scipy
import sklearn
from scipy import special, stats
from sklearn.metrics import roc_auc_score

try:
    import nltk
    from nltk.stem import porter
except ImportError:  # pragma: no cover
    sys.exit("needs nltk: apt-get install -y python3-nltk")

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "eval")
TOFU = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "tofu"))
GENERATOR = f"tools/golden/metrics.py (scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, nltk {nltk.__version__}, numpy {np.__version__}, zlib {zlib.ZLIB_VERSION})"


def rng(seed):
    return np.random.default_rng(seed)


def r6(a):
    """Rounds to 6 decimals, so values survive JSON as written and ties are the ones we meant."""
    return [float(round(float(v), 6)) for v in a]


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path) // 1024} KiB)")


def tofu_rows(name):
    """TOFU files are JSON arrays (one per line) or JSON Lines; return the concatenated rows."""
    rows = []
    with open(os.path.join(TOFU, name)) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            v = json.loads(line)
            rows.extend(v if isinstance(v, list) else [v])
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Kolmogorov–Smirnov


def ks_fixture():
    arrays = {}
    cases = []

    def add(name, a, b):
        a, b = r6(a), r6(b)
        arrays[name + "/a"], arrays[name + "/b"] = a, b
        res = stats.ks_2samp(np.array(a), np.array(b))
        cases.append({"name": name, "a": name + "/a", "b": name + "/b", "statistic": float(res.statistic), "pvalue": float(res.pvalue),
                      "method": "exact" if max(len(a), len(b)) <= 10000 else "asymp"})

    g = rng(1)
    add("equal_5", g.normal(size=5), g.normal(size=5))
    add("equal_50_shift", g.normal(size=50), g.normal(0.5, 1, size=50))
    add("equal_40_tofu_like", g.lognormal(-0.5, 0.6, size=40), g.lognormal(-0.3, 0.6, size=40))
    add("unequal_30_47", g.normal(size=30), g.normal(0.3, 1.2, size=47))
    add("unequal_100_37_shift", g.normal(size=100), g.normal(1.0, 1, size=37))
    add("unequal_1_9", g.normal(size=1), g.normal(size=9))
    add("ties_integers_40_55", g.integers(0, 6, size=40), g.integers(0, 6, size=55))
    add("ties_integers_equal_60", g.integers(0, 4, size=60), g.integers(1, 5, size=60))
    same = g.normal(size=60)
    add("identical_60", same, same)
    add("all_tied_10_7", np.ones(10), np.ones(7))
    add("separated_200_150", g.uniform(0, 1, size=200), g.uniform(2, 3, size=150))
    add("separated_equal_300", g.uniform(0, 1, size=300), g.uniform(2, 3, size=300))
    add("separated_equal_5", [1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    add("truth_ratio_400_400", g.lognormal(-1.0, 0.7, size=400), g.lognormal(-0.9, 0.7, size=400))
    add("truth_ratio_400_400_far", g.lognormal(-2.0, 0.7, size=400), g.lognormal(-0.9, 0.7, size=400))
    add("exact_4000_4000", g.normal(size=4000), g.normal(0.05, 1, size=4000))
    add("exact_10000_3000", g.normal(size=10000), g.normal(0.04, 1, size=3000))
    big = g.normal(size=12000)
    # Asymptotic branch (one sample above 10,000); shifts chosen to reach the different kstwo.sf algorithms.
    for n2, shift in [(300, 0.0), (300, 0.12), (300, 0.4), (300, 1.5), (100, 0.0), (100, 0.15), (100, 0.5), (100, 2.0), (3000, 0.01)]:
        name = f"asymp_12000_{n2}_shift{shift}"
        b = r6(g.normal(shift, 1, size=n2))
        arrays[name + "/b"] = b
        res = stats.ks_2samp(np.array(r6(big)), np.array(b))
        cases.append({"name": name, "a": "big12000", "b": name + "/b", "statistic": float(res.statistic), "pvalue": float(res.pvalue), "method": "asymp"})
    arrays["big12000"] = r6(big)

    # kstwo.sf and smirnov directly, on grids that cross every branch of scipy's selection.
    kstwo = []
    for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 293, 1000, 5000, 20000, 99999, 200000]:
        xs = set()
        for c in [0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.87, 0.95, 1.0, 1.1, 1.2, 1.35, 1.5, 1.7, 2.0, 2.2, 2.5, 3.0, 4.0, 6.0, 10.0, 14.0, 19.0, 25.0]:
            xs.add(c / math.sqrt(n))
        xs.update([0.4 / n, 0.75 / n, 1.0 / n, 1.5 / n, 0.3, 0.5, 0.55, 0.8, 0.95, 1 - 1.5 / n, 1 - 0.5 / n])
        for x in sorted(xs):
            if 0 < x < 1:
                kstwo.append({"n": n, "x": float(x), "sf": float(stats.kstwo.sf(x, n))})
    smirnov = []
    for n in [1, 2, 3, 7, 10, 50, 141, 1000, 12000]:
        for x in [0.0, 0.3 / n, 1.0 / n, 2.5 / n, 0.5 / math.sqrt(n), 1 / math.sqrt(n), 1.5 / math.sqrt(n), 3 / math.sqrt(n), 0.25, 0.5, 0.7, 1 - 1.0 / n, 0.999, 1.0]:
            if 0 <= x <= 1:
                smirnov.append({"n": n, "x": float(x), "sf": float(special.smirnov(n, x))})
    write("ks.json", {"generator": GENERATOR, "arrays": arrays, "cases": cases, "kstwo_sf": kstwo, "smirnov": smirnov})


# ---------------------------------------------------------------------------------------------------------------
# ROC AUC


def auc_fixture():
    cases = []

    def add(name, pos, neg):
        pos, neg = r6(pos), r6(neg)
        y = np.array([1] * len(pos) + [0] * len(neg))
        s = np.array(pos + neg)
        cases.append({"name": name, "positives": pos, "negatives": neg, "auc": float(roc_auc_score(y, s))})

    g = rng(2)
    add("random_overlap_100_80", g.normal(0.3, 1, size=100), g.normal(0, 1, size=80))
    add("random_overlap_7_13", g.normal(0.3, 1, size=7), g.normal(0, 1, size=13))
    add("ties_integers_50_70", g.integers(0, 5, size=50), g.integers(0, 4, size=70))
    add("ties_across_and_within", [1, 1, 2, 2, 3], [1, 2, 2, 0, 3, 3])
    add("separated", g.uniform(2, 3, size=40), g.uniform(0, 1, size=30))
    add("separated_reversed", g.uniform(0, 1, size=40), g.uniform(2, 3, size=30))
    same = g.normal(size=25)
    add("identical", same, same)
    add("all_equal", [0.5] * 9, [0.5] * 4)
    add("one_each", [0.2], [0.1])
    add("loss_like_600_400", g.gamma(2.0, 0.5, size=600), g.gamma(2.2, 0.5, size=400))
    write("auc.json", {"generator": GENERATOR, "convention": "y=1 for positives; auc = roc_auc_score(y, concat(positives, negatives))", "cases": cases})


# ---------------------------------------------------------------------------------------------------------------
# ROUGE-L and the Porter stemmer

STEMMER = porter.PorterStemmer()  # rouge-score: porter.PorterStemmer() (default mode NLTK_EXTENSIONS)


def rouge_tokenize(text, stem):
    """rouge_score/tokenize.py: lower-case, non-[a-z0-9] runs to a space, split on whitespace, stem tokens longer
    than 3 characters, drop empty or non-alphanumeric tokens."""
    text = text.lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    tokens = re.split(r"\s+", text)
    if stem:
        tokens = [STEMMER.stem(x) if len(x) > 3 else x for x in tokens]
    return [x for x in tokens if re.match(r"^[a-z0-9]+$", x)]


def lcs_length(a, b):
    rows, cols = len(a), len(b)
    t = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t[-1][-1]


def rouge_l(target, prediction, stem):
    """rouge_scorer._score_lcs on scorer.score(target, prediction)."""
    t, p = rouge_tokenize(target, stem), rouge_tokenize(prediction, stem)
    if not t or not p:
        return {"precision": 0.0, "recall": 0.0, "fmeasure": 0.0}
    lcs = lcs_length(t, p)
    precision, recall = lcs / len(p), lcs / len(t)
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "fmeasure": f}


def rouge_fixture():
    pairs = [
        ("The cat sat on the mat.", "the cat is on the mat"),
        ("Running runs ran; the runner was running!", "He runs and ran, a runner who runs."),
        ("Universities: the university's universal appeal.", "universal universities"),
        ("Born on 14-March, 1961 in São Paulo!", "born 14 march 1961 sao paulo"),
        ("", "anything"),
        ("anything", ""),
        ("!!! ???", "..."),
        ("a a a b", "a b b a"),
        ("Generously, happily, carefully and beautifully written.", "generous happy careful beautiful writing"),
        ("The dying man was lying about tying knots.", "die lie tie"),
        ("İstanbul, ﬁnance, naïve café — 東京 2024", "istanbul finance naive cafe 2024"),
        ("Hyphen-ated words and under_scored ones", "hyphen ated words and under scored ones"),
        ("skies sky skied skiing", "sky"),
        ("relational conditional rational valenci hesitanci", "relate condition rational valence hesitance"),
    ]
    for row in tofu_rows("forget10_perturbed.json")[:60]:
        pairs.append((row["answer"], row["paraphrased_answer"]))
        pairs.append((row["answer"], row["perturbed_answer"][0]))
    for row in tofu_rows("world_facts_perturbed.json")[:20]:
        pairs.append((row["answer"], row["perturbed_answer"][0]))
    cases = []
    for target, prediction in pairs:
        cases.append({"target": target, "prediction": prediction,
                      "tokens": rouge_tokenize(target, False), "stemmed_tokens": rouge_tokenize(target, True),
                      "plain": rouge_l(target, prediction, False), "stemmed": rouge_l(target, prediction, True)})
    write("rouge.json", {"generator": GENERATOR, "cases": cases})

    words = set()
    for name in sorted(os.listdir(TOFU)):
        if not name.endswith(".json"):
            continue
        for row in tofu_rows(name):
            for value in row.values():
                for text in value if isinstance(value, list) else [value]:
                    if isinstance(text, str):
                        words.update(rouge_tokenize(text, False))
    tricky = """caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized hopping
    tanned falling hissing fizzed failing filing happy sky enjoy spy fly try spied tried flies dies died lies lied
    relational conditional rational valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli
    vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti
    sensibiliti triplicate formative formalize electriciti electrical hopeful goodness revival allowance inference
    airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou
    communism activate angulariti homologous effective bowdlerize probate rate cease controll roll generalizations
    oscillators skies dying lying tying news innings inning outings outing cannings canning howe proceed exceed
    succeed archaeology biology fully beautifully really controlling rolling generously agreement bies ied eed
    ies oed y ab abc xyz syzygy toy trees oaten orrery ivy by tree trouble oats private troubles happily
    enjoyment spying flying national ational logi alli entli fulli ousli eli anci enci abli bli izer ization""".split()
    words.update(tricky)
    words = sorted(words)
    write("porter.json", {"generator": GENERATOR, "mode": STEMMER.mode, "stems": {w: STEMMER.stem(w) for w in words}})


# ---------------------------------------------------------------------------------------------------------------
# Truth ratio, normalised probability, harmonic mean, Min-K%, Min-K%++


def scores_fixture():
    g = rng(3)
    n = 40
    # Per-answer mean token log-probs, as open-unlearning's evaluate_probability gives them (avg_loss = −value).
    para = g.uniform(-3.0, -0.05, size=n)
    pert = g.uniform(-4.0, -0.3, size=(n, 5))
    para[0] = -30.0  # an answer the model has all but forgotten: the 1e-10 in open-unlearning's TR matters here
    pert[1, :] = -28.0
    correct_prob = np.exp(-(-para))
    wrong_prob = np.exp(-np.mean(-pert, axis=1))  # aggregate_to_1D: mean of the perturbed answers' avg losses
    tr_ou = wrong_prob / (correct_prob + 1e-10)  # open-unlearning truth_ratio (aggregator != prob_mean)
    tr_raw = wrong_prob / correct_prob
    # TOFU's aggregate_eval_stat.py works with curr_stat_1 = exp(pert_loss − para_loss) = 1/TR.
    curr = np.exp(np.mean(-pert, axis=1) - (-para))
    truth_ratio = {
        "paraphrased_mean_logprob": para.tolist(), "perturbed_mean_logprobs": pert.tolist(),
        "tr_eps1e-10": tr_ou.tolist(), "tr_eps0": tr_raw.tolist(),
        "forget_eps1e-10": float(np.mean(np.minimum(tr_ou, 1 / (tr_ou + 1e-10)))),
        "retain_eps1e-10": float(np.mean(np.maximum(0, 1 - tr_ou))),
        "forget_tofu": float(np.mean(np.minimum(curr, 1 / curr))),
        "retain_tofu": float(np.mean(np.maximum(0, 1 - 1 / curr))),
    }

    correct = g.uniform(-2.5, -0.1, size=30)
    wrong = g.uniform(-3.5, -0.2, size=(30, 3))
    pc, pw = np.exp(correct), np.exp(wrong)
    normalised = {
        "correct_mean_logprob": correct.tolist(), "wrong_mean_logprobs": wrong.tolist(),
        # open-unlearning probability_w_options: correct / (correct + Σ wrong + 1e-10), averaged
        "value_eps1e-10": float(np.mean(pc / (pc + pw.sum(axis=1) + 1e-10))),
        # TOFU get_model_utility: avg_true_prob / avg_all_prob
        "value_tofu": float(np.mean(pc / np.concatenate([pc[:, None], pw], axis=1).sum(-1))),
    }

    hmean = []
    for vals in [[0.5, 0.6, 0.7], [0.9, 0.05, 0.4, 0.33, 0.71, 0.6, 0.2, 0.8, 0.45], [1.0], [0.3, 0.0, 0.8], [1e-8, 0.9]]:
        hmean.append({"values": vals, "hmean": float(stats.hmean(vals))})

    def min_k(lp, k):
        # open-unlearning MinKProbAttack.compute_score
        num_k = max(1, int(len(lp) * k))
        return float(-np.mean(np.sort(lp)[:num_k]))

    mink = []
    for length in [1, 2, 3, 5, 7, 10, 15, 33, 64]:
        lp = g.uniform(-9, -0.001, size=length)
        mink.append({"logprobs": lp.tolist(), "scores": {str(k): min_k(lp, k) for k in [0.05, 0.1, 0.2, 0.4, 0.5, 0.6, 1.0]}})

    minkpp = []
    V = 37
    for length, peaked in [(1, False), (4, False), (9, False), (16, True), (25, False)]:
        logits = g.normal(0, 2.5, size=(length, V))
        if peaked:
            logits[::3, 5] = 60.0  # next-token distribution all but certain: variance below 1e-6 gets clamped
        tokens = g.integers(0, V, size=length)
        if peaked:
            tokens[::3] = 5
        lps = logits - np.log(np.sum(np.exp(logits - logits.max(-1, keepdims=True)), -1, keepdims=True)) - logits.max(-1, keepdims=True)
        token_lp = lps[np.arange(length), tokens]
        p = np.exp(lps)
        mu = (p * lps).sum(-1)
        var = (p * np.square(lps)).sum(-1) - np.square(mu)
        z = (token_lp - mu) / np.sqrt(np.clip(var, 1e-6, None))  # open-unlearning MinKPlusPlusAttack
        scores = {}
        for k in [0.1, 0.2, 0.4, 1.0]:
            num_k = max(1, int(len(z) * k))
            scores[str(k)] = float(-np.mean(sorted(z)[:num_k]))
        minkpp.append({"logits": logits.tolist(), "tokens": tokens.tolist(), "token_logprobs": token_lp.tolist(),
                       "mu": mu.tolist(), "var": var.tolist(), "scores": scores})

    write("scores.json", {"generator": GENERATOR, "truth_ratio": truth_ratio, "normalised_probability": normalised,
                          "hmean": hmean, "min_k": mink, "min_k_plus_plus": minkpp})


# ---------------------------------------------------------------------------------------------------------------
# zlib compressed sizes


def lcg_text(seed, length, alphabet):
    """Deterministic text the TS test regenerates: x ← 1664525·x + 1013904223 mod 2³², char = alphabet[(x>>16) % len]."""
    x = seed & 0xFFFFFFFF
    out = []
    for _ in range(length):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out.append(alphabet[(x >> 16) % len(alphabet)])
    return "".join(out)


def lcg_bytes(seed, length):
    x = seed & 0xFFFFFFFF
    out = bytearray()
    for _ in range(length):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out.append(x >> 24)
    return bytes(out)


def zlib_fixture():
    cases = []
    for t in ["", "a", "ab", "abc", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "São Paulo — “quotes” 東京 🎉 " * 7]:
        cases.append({"text": t, "size": len(zlib.compress(t.encode("utf-8")))})
    rows = tofu_rows("full.json")
    for row in rows[::40]:
        for t in [row["answer"], row["question"] + " " + row["answer"]]:
            cases.append({"text": t, "size": len(zlib.compress(t.encode("utf-8")))})
    # Long inputs: several deflate blocks (16,383 symbols each), the 32 KiB window sliding, long matches.
    # Generated from recipes the test replays, rather than stored.
    literals = [c["text"] for c in cases]
    recipes = [
        {"kind": "join_literals", "times": 5},
        {"kind": "lcg_text", "seed": 7, "length": 70000, "alphabet": "abcdefghijklmnopqrstuvwxyz      ,."},
        {"kind": "lcg_text", "seed": 11, "length": 40000, "alphabet": "ab"},
        {"kind": "lcg_text", "seed": 13, "length": 20000, "alphabet": "αβγδεζηθικλμνξοπρστυφχψω東京大阪🎉é"},
        {"kind": "lcg_text", "seed": 17, "length": 140000, "alphabet": "the quick brown fox jumps over a lazy dog"},
        {"kind": "repeat", "unit": "abc", "times": 30000},
        {"kind": "repeat", "unit": "Lethe forgets. ", "times": 5000},
        {"kind": "lcg_bytes", "seed": 19, "length": 1000},
        {"kind": "lcg_bytes", "seed": 23, "length": 100000},
    ]
    for r in recipes:
        if r["kind"] == "join_literals":  # every literal text above, in order, `times` over, joined by spaces
            data = " ".join(literals * r["times"]).encode("utf-8")
        elif r["kind"] == "lcg_text":
            data = lcg_text(r["seed"], r["length"], r["alphabet"]).encode("utf-8")
        elif r["kind"] == "repeat":
            data = (r["unit"] * r["times"]).encode("utf-8")
        else:
            data = lcg_bytes(r["seed"], r["length"])
        cases.append({"recipe": r, "size": len(zlib.compress(data))})
    write("zlib.json", {"generator": GENERATOR, "cases": cases})


def main():
    ks_fixture()
    auc_fixture()
    rouge_fixture()
    scores_fixture()
    zlib_fixture()


if __name__ == "__main__":
    main()
