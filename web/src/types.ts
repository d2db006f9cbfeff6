// The JSON shapes of tunelab's admin API. They mirror the Go types named
// beside each one; fields the UI does not read are left out.

// lab.FewShot
export interface FewShot {
  k: number;
  select: string;
  ids?: string[];
  seed?: number;
}

// lab.Variant
export interface Variant {
  name: string;
  technique?: string;
  system?: string;
  instructions?: string;
  template?: string;
  few_shot?: FewShot;
  chain_of_thought?: boolean;
  answer_pattern?: string;
  json_schema?: unknown;
  answer_field?: string;
}

// lab.Retrieval
export interface Retrieval {
  index: string;
  mode: string;
  k: number;
  weight?: number;
  embed?: string;
}

// lab.Candidate
export interface Candidate {
  id: string;
  model: string;
  variant: Variant;
  params: { temperature?: number; max_tokens?: number; seed?: number };
  retrieval?: Retrieval;
}

// lab.Constraints
export interface Constraints {
  min_quality?: number;
  max_latency_ms?: number;
  monthly_budget?: number;
  local_only?: boolean;
  change_frequency?: string;
  knowledge_changes?: boolean;
}

// lab.Task
export interface Task {
  name: string;
  description: string;
  output: string;
  labels?: string[];
  volume?: number;
  constraints: Constraints;
}

// GET /api/lab
export interface LabInfo {
  name: string;
  task: Task;
  models: string[];
  prompts: Variant[];
  candidates: Candidate[];
  splits: Record<string, number>;
  dataset_version: string;
}

// lab.Example
export interface CaseRow {
  id: string;
  input: string;
  expected?: string;
  meta?: Record<string, string>;
}

// GET /api/cases
export interface CasesPage {
  total: number;
  rows: CaseRow[];
}

// lab.RunInfo
export interface RunInfo {
  id: string;
  status: string;
  created_at: string;
  cases: number;
  repeats: number;
  candidates: Candidate[];
  primary_scorer: string;
  dataset?: string;
}

// lab.Score
export interface Score {
  value: number;
  pass: boolean;
  reason?: string;
}

// lab.CallResult
export interface CallResult {
  candidate_id: string;
  case_id: string;
  repeat: number;
  output: string;
  answer: string;
  scores?: Record<string, Score>;
  pass: boolean;
  latency_ms: number;
  tokens_in: number;
  tokens_out: number;
  cost: number;
  cached?: boolean;
  error?: string;
  retrieved?: string[];
}

// eval.Comparison
export interface Comparison {
  against: string;
  method: string;
  diff: number;
  diff_low: number;
  diff_high: number;
  p: number;
  significant: boolean;
}

// eval.CandidateSummary
export interface CandidateSummary {
  id: string;
  model: string;
  variant: string;
  technique?: string;
  calls: number;
  accuracy: number;
  ci_low: number;
  ci_high: number;
  scores: Record<string, number>;
  latency_p50_ms: number;
  latency_p95_ms: number;
  tokens_in_mean: number;
  tokens_out_mean: number;
  cost_per_1k_usd: number;
  consistency?: number;
  error_rate: number;
  errors: number;
  vs_best?: Comparison;
}

// eval.Summary
export interface Summary {
  run_id: string;
  cases: number;
  repeats: number;
  primary_scorer: string;
  complete: boolean;
  missing_calls: number;
  best: string;
  candidates: CandidateSummary[];
}

// GET /api/runs/{id}
export interface RunDetail {
  run: RunInfo;
  summary: Summary;
  results: CallResult[];
}

// A candidate as POST /api/playground takes it: a configured one by id,
// or an ad-hoc model and edited variant.
export type CandidateRef = { id: string } | { model: string; variant: Variant };

export interface Message {
  role: string;
  content: string;
}

// One answer of POST /api/playground.
export interface PlaygroundResult {
  candidate: string;
  case_id?: string;
  input: string;
  expected?: string;
  messages?: Message[];
  output: string;
  answer: string;
  pass: boolean | null;
  latency_ms: number;
  tokens_in: number;
  tokens_out: number;
  cost: number;
  error?: string;
  retrieved?: string[];
}

// ladder.Rung
export interface Rung {
  name: string;
  status: string;
  detail: string;
}

// advisor.Option
export interface VerdictOption {
  id: string;
  accuracy: number;
  ci_low: number;
  ci_high: number;
  latency_p95_ms: number;
  monthly_usd: number;
  tuned: boolean;
  local: boolean;
  tied_with_best: boolean;
  fails?: string[];
}

// cost.BreakEvenPoint (no JSON tags on the Go side: field names as is).
export interface BreakEvenPoint {
  A: string;
  B: string;
  CallsPerDay: number;
  MonthlyUSD: number;
  Crosses: boolean;
  Cheaper: string;
}

// ladder/verdict.json (docs/verdict.md)
export interface VerdictFile {
  schema_version: number;
  task: string;
  run_id: string;
  rungs: Rung[];
  tuning_job?: string;
  verdict: {
    pick: string;
    basis: string;
    reasons: string[];
    what_would_change_it: string[];
    volume_per_day: number;
    options: VerdictOption[];
    break_even: BreakEvenPoint[];
  };
}

// ladder/results.json (docs/results.md)
export interface ResultsFile {
  schema_version: number;
  task: Task;
  summary: Summary;
}

// A point of a loss curve, as the ladder reports it.
export interface LossPoint {
  step: number;
  loss: number;
}

// GET /api/ladder
export interface LadderStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  error?: string;
  log: string[];
  result: ResultsFile | null;
  verdict: VerdictFile | null;
  // Present when the lead's API reports the tuning job's curves.
  loss?: { train?: LossPoint[]; valid?: LossPoint[] } | null;
}

// The data of `event: progress` on /api/ladder/events.
export interface LadderProgress {
  stage: string;
  done: number;
  total: number;
  loss?: number;
}

// lab.Deployment
export interface Deployment {
  name: string;
  version: number;
  candidate: Candidate;
  quality?: number;
  split?: { deployment: string; weight: number }[];
  shadow?: string;
  created_at: string;
  task?: Task;
}

// lab.Trace
export interface Trace {
  id: string;
  deployment: string;
  version: number;
  served: string;
  shadow?: boolean;
  endpoint: string;
  stream?: boolean;
  input: string;
  prompt?: Message[];
  retrieved?: string[];
  output: string;
  answer: string;
  model: string;
  latency_ms: number;
  tokens_in: number;
  tokens_out: number;
  cost: number;
  status: number;
  error?: string;
  scores?: Record<string, Score>;
  created_at: string;
}

// lab.Feedback
export interface Feedback {
  id: string;
  reviewer: string;
  thumb?: number;
  rating?: number;
  correction?: string;
  comment?: string;
  created_at: string;
}

// server.Stats
export interface Stats {
  deployment: string;
  version: number;
  calls: number;
  errors: number;
  error_rate: number;
  p50_ms: number;
  p95_ms: number;
  cost_usd: number;
  scored: number;
  quality: number;
  reviewed: number;
  accepted: number;
  evaluated?: number;
  retrain?: string;
}

// PUT /api/cases/{id}
export interface CaseEdited {
  row: CaseRow;
  split: string;
  previous_id: string;
  id_changed: boolean;
  changed: boolean;
  file: string;
  line: number;
  dataset_version: string;
  previous_dataset_version: string;
  message: string;
}

// server.Bucket: rates and latencies are null where no call was made,
// quality where no call was scored.
export interface Bucket {
  start: string;
  calls: number;
  errors: number;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  cost_usd: number;
  scored: number;
  quality: number | null;
}

// server.Thresholds: null is a rule that is off.
export interface Thresholds {
  min_quality: number | null;
  max_p95_ms: number | null;
  max_error_rate: number | null;
  min_samples: number;
}

// GET /api/monitor/series
export interface Series {
  deployment: string;
  version: number;
  since: string;
  until: string;
  bucket: string;
  primary_scorer: string;
  evaluated?: number | null;
  buckets: Bucket[];
  thresholds: Thresholds;
}

// server.Alert
export interface Alert {
  deployment: string;
  rule: string;
  value: number;
  threshold: number;
  window: string;
  resolved: boolean;
  at: string;
  message: string;
}
