// A word diff of two outputs: the longest common subsequence of their
// tokens (words and the whitespace between them), so a reader sees what
// one candidate said that the other did not.

export interface DiffPart {
  op: 'same' | 'add' | 'del';
  text: string;
}

export function tokenize(s: string): string[] {
  return s.match(/\s+|[\p{L}\p{N}_'-]+|[^\s\p{L}\p{N}_'-]/gu) ?? [];
}

// Past this many cells the table would cost too much memory in a browser
// tab; such outputs are shown as one removal and one addition.
const maxCells = 16_000_000;

export function wordDiff(a: string, b: string): DiffPart[] {
  const x = tokenize(a);
  const y = tokenize(b);
  // Common prefix and suffix cost nothing to find and shrink the table.
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xs = x.slice(pre, x.length - suf);
  const ys = y.slice(pre, y.length - suf);
  const out: DiffPart[] = [];
  const push = (op: DiffPart['op'], text: string) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += text;
    else out.push({ op, text });
  };
  push('same', x.slice(0, pre).join(''));
  const n = xs.length;
  const m = ys.length;
  if ((n + 1) * (m + 1) > maxCells) {
    push('del', xs.join(''));
    push('add', ys.join(''));
  } else {
    // lcs[i*(m+1)+j] is the LCS length of xs[i:] and ys[j:].
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = xs[i] === ys[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (xs[i] === ys[j]) {
        push('same', xs[i]);
        i++;
        j++;
      } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
        push('del', xs[i++]);
      } else {
        push('add', ys[j++]);
      }
    }
    while (i < n) push('del', xs[i++]);
    while (j < m) push('add', ys[j++]);
  }
  push('same', x.slice(x.length - suf).join(''));
  return out;
}
