/**
 * A thin FFI binding to OpenBLAS (`libopenblas.so.0`, Debian `libopenblas0-pthread`)
 * through koffi: `cblas_sgemm` on `Float32Array`s (koffi passes a typed array's own memory,
 * offset included, with no copy; ~0.2 µs per call) and OpenBLAS's thread-count API.
 *
 * koffi is required here, inside {@link loadOpenBlas}, so a process that never chooses the
 * BLAS path never loads it.
 *
 * @example
 * const blas = loadOpenBlas();          // throws OpenBlasUnavailableError when absent
 * blas.setThreads(1);
 * blas.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n); // c = a · b, row-major
 */
import { createRequire } from 'node:module';

/** The shared object Debian's `libopenblas0-pthread` installs (found through the loader path). */
export const OPENBLAS_LIBRARY = 'libopenblas.so.0';

/** What to install when the library is missing. */
export const OPENBLAS_INSTALL_HINT =
  'install Debian/Ubuntu `libopenblas0-pthread` (apt-get install libopenblas0-pthread)';

/** OpenBLAS (or koffi) cannot be loaded; the message names what and how to fix it. */
export class OpenBlasUnavailableError extends Error {
  override readonly name = 'OpenBlasUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The OpenBLAS calls sparsepipe uses. Matrices are row-major. */
export interface OpenBlas {
  /**
   * `C = alpha · op(A) · op(B) + beta · C` with `op(X) = transX ? Xᵀ : X`; `op(A)` is
   * `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are row strides.
   * The arrays are views whose first element is the matrix's first element.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** `openblas_set_num_threads`: process-wide, for every later call from any thread. */
  setThreads(threads: number): void;
  /** `openblas_get_num_threads`. */
  threads(): number;
  /** e.g. `OpenBLAS 0.3.21 (Cooperlake)`: version and the kernel set chosen for this CPU. */
  readonly description: string;
}

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

type KoffiModule = typeof import('koffi');

let loaded: OpenBlas | undefined;

/**
 * Load OpenBLAS once per process (later calls return the same binding). Throws
 * {@link OpenBlasUnavailableError} naming the missing piece and {@link OPENBLAS_INSTALL_HINT}.
 *
 * @example
 * try { loadOpenBlas(); } catch (e) { console.log((e as Error).message); }
 */
export function loadOpenBlas(path: string = OPENBLAS_LIBRARY): OpenBlas {
  if (loaded && path === OPENBLAS_LIBRARY) return loaded;
  let koffi: KoffiModule;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiModule;
  } catch (e) {
    throw new OpenBlasUnavailableError(
      `OpenBLAS: the koffi FFI package could not be loaded (${(e as Error).message}); run \`npm install\``,
      { cause: e },
    );
  }
  let lib: ReturnType<KoffiModule['load']>;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new OpenBlasUnavailableError(
      `OpenBLAS (${path}) is not installed or cannot be loaded: ${OPENBLAS_INSTALL_HINT} (${(e as Error).message})`,
      { cause: e },
    );
  }
  let binding: OpenBlas;
  try {
    const sgemm = lib.func(
      'void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, ' +
        'const float *a, int lda, const float *b, int ldb, float beta, _Inout_ float *c, int ldc)',
    );
    const setThreads = lib.func('void openblas_set_num_threads(int threads)');
    const getThreads = lib.func('int openblas_get_num_threads()');
    const config = lib.func('const char *openblas_get_config()');
    const corename = lib.func('const char *openblas_get_corename()');
    const version = /^OpenBLAS\s+\S+/.exec(String(config()))?.[0] ?? 'OpenBLAS';
    binding = {
      sgemm: (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) =>
        sgemm(
          CBLAS_ROW_MAJOR,
          transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
          transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
          m,
          n,
          k,
          alpha,
          a,
          lda,
          b,
          ldb,
          beta,
          c,
          ldc,
        ),
      setThreads: (threads) => setThreads(threads),
      threads: () => getThreads() as number,
      description: `${version} (${String(corename())})`,
    };
  } catch (e) {
    throw new OpenBlasUnavailableError(
      `${path} loaded but lacks the OpenBLAS CBLAS symbols (${(e as Error).message}): ${OPENBLAS_INSTALL_HINT}`,
      { cause: e },
    );
  }
  if (path === OPENBLAS_LIBRARY) loaded = binding;
  return binding;
}
