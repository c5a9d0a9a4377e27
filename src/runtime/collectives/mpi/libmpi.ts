/**
 * A thin FFI binding to Open MPI's `libmpi.so.40` through koffi: only the calls the `mpi`
 * process group needs. MPI handles (`MPI_COMM_WORLD`, `MPI_INT`, `MPI_FLOAT`, `MPI_SUM`) are
 * Open MPI globals (`ompi_mpi_comm_world`, …): their addresses are the handles. Communicators
 * made by `MPI_Comm_dup` are pointers too; all are BigInts here.
 *
 * Collectives run with koffi's `.async()` (on libuv's thread pool) so the JS event loop keeps
 * running while a rank waits; the tiny point-to-point calls used for arrival notices are
 * synchronous, as are init and finalize (on the JS thread, as MPI wants). Buffers are typed arrays passed by pointer: keep them alive (unmodified)
 * until the returned promise settles. Calls need `MPI_THREAD_MULTIPLE`.
 *
 * @example
 * const mpi = loadLibMpi();
 * const provided = mpi.initThread(MPI_THREAD_MULTIPLE);
 * const recv = new Int32Array(mpi.commSize(mpi.handles.commWorld));
 * await mpi.alltoall(send, 1, mpi.handles.int, recv, 1, mpi.handles.int, mpi.handles.commWorld);
 */
import { createRequire } from 'node:module';
import { MpiCallError, MpiUnavailableError } from './mpi-errors.ts';

/** MPI_THREAD_MULTIPLE in Open MPI. */
export const MPI_THREAD_MULTIPLE = 3;
/** MPI_ANY_SOURCE / MPI_ANY_TAG in Open MPI. */
export const MPI_ANY_SOURCE = -1;
export const MPI_ANY_TAG = -1;
/** Int32 words of Open MPI's `MPI_Status` (source, tag, error, cancelled, size_t count). */
export const MPI_STATUS_INT32S = 6;

/** The default library name (Open MPI 3/4/5 on Debian/Ubuntu). */
export const LIBMPI = 'libmpi.so.40';

/** A pointer-sized MPI handle. */
export type MpiHandle = bigint;
/** A buffer MPI reads from or writes to. */
export type MpiBuffer = Int32Array | Float32Array;

/** The bound subset of MPI (see the module doc). */
export interface LibMpi {
  readonly path: string;
  readonly handles: {
    readonly commWorld: MpiHandle;
    readonly int: MpiHandle;
    readonly float: MpiHandle;
    readonly sum: MpiHandle;
  };
  /**
   * MPI_Init_thread(NULL, NULL, required, &provided), returning `provided`. Synchronous: MPI
   * wants the thread that initializes it to be the one that finalizes it (the JS thread).
   */
  initThread(required: number): number;
  initialized(): boolean;
  finalized(): boolean;
  commRank(comm: MpiHandle): number;
  commSize(comm: MpiHandle): number;
  commDup(comm: MpiHandle): Promise<MpiHandle>;
  barrier(comm: MpiHandle): Promise<void>;
  allgather(
    send: MpiBuffer,
    sendCount: number,
    sendType: MpiHandle,
    recv: MpiBuffer,
    recvCount: number,
    recvType: MpiHandle,
    comm: MpiHandle,
  ): Promise<void>;
  alltoall(
    send: MpiBuffer,
    sendCount: number,
    sendType: MpiHandle,
    recv: MpiBuffer,
    recvCount: number,
    recvType: MpiHandle,
    comm: MpiHandle,
  ): Promise<void>;
  alltoallv(
    send: MpiBuffer,
    sendCounts: Int32Array,
    sendDispls: Int32Array,
    sendType: MpiHandle,
    recv: MpiBuffer,
    recvCounts: Int32Array,
    recvDispls: Int32Array,
    recvType: MpiHandle,
    comm: MpiHandle,
  ): Promise<void>;
  allreduce(
    send: MpiBuffer,
    recv: MpiBuffer,
    count: number,
    type: MpiHandle,
    op: MpiHandle,
    comm: MpiHandle,
  ): Promise<void>;
  /** Blocking send (synchronous call: use only for tiny, eagerly buffered messages). */
  send(
    buf: MpiBuffer,
    count: number,
    type: MpiHandle,
    dest: number,
    tag: number,
    comm: MpiHandle,
  ): void;
  /** MPI_Iprobe; fills `status` (Int32Array of {@link MPI_STATUS_INT32S}) when a message is there. */
  iprobe(source: number, tag: number, comm: MpiHandle, status: Int32Array): boolean;
  recv(
    buf: MpiBuffer,
    count: number,
    type: MpiHandle,
    source: number,
    tag: number,
    comm: MpiHandle,
  ): void;
  /** Kill every process of the job. Does not return. */
  abort(comm: MpiHandle, code: number): void;
  /** MPI_Finalize, synchronous on the JS thread (see {@link LibMpi.initThread}); blocks until every rank finalizes. */
  finalize(): void;
}

type KoffiModule = typeof import('koffi');
type KoffiFunction = ReturnType<ReturnType<KoffiModule['load']>['func']>;

/**
 * Load `libmpi` and bind the functions. Throws {@link MpiUnavailableError} when Open MPI or
 * koffi is missing.
 *
 * @example
 * try { loadLibMpi(); } catch (e) { console.log((e as Error).message); } // Open MPI not found (libmpi.so.40): install Debian's openmpi-bin (…)
 */
export function loadLibMpi(path: string = LIBMPI): LibMpi {
  let koffi: KoffiModule;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiModule;
  } catch (e) {
    throw new MpiUnavailableError(
      path,
      `the koffi FFI package could not be loaded: ${(e as Error).message}`,
    );
  }
  let lib: ReturnType<KoffiModule['load']>;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new MpiUnavailableError(path, (e as Error).message);
  }
  const fn = (signature: string): KoffiFunction => lib.func(signature);
  const f = {
    initThread: fn(
      'int MPI_Init_thread(void *argc, void *argv, int required, _Out_ int *provided)',
    ),
    initialized: fn('int MPI_Initialized(_Out_ int *flag)'),
    finalized: fn('int MPI_Finalized(_Out_ int *flag)'),
    commRank: fn('int MPI_Comm_rank(void *comm, _Out_ int *rank)'),
    commSize: fn('int MPI_Comm_size(void *comm, _Out_ int *size)'),
    commDup: fn('int MPI_Comm_dup(void *comm, _Out_ void **newcomm)'),
    barrier: fn('int MPI_Barrier(void *comm)'),
    allgather: fn(
      'int MPI_Allgather(void *sendbuf, int sendcount, void *sendtype, void *recvbuf, int recvcount, void *recvtype, void *comm)',
    ),
    alltoall: fn(
      'int MPI_Alltoall(void *sendbuf, int sendcount, void *sendtype, void *recvbuf, int recvcount, void *recvtype, void *comm)',
    ),
    alltoallv: fn(
      'int MPI_Alltoallv(void *sendbuf, int *sendcounts, int *sdispls, void *sendtype, void *recvbuf, int *recvcounts, int *rdispls, void *recvtype, void *comm)',
    ),
    allreduce: fn(
      'int MPI_Allreduce(void *sendbuf, void *recvbuf, int count, void *datatype, void *op, void *comm)',
    ),
    send: fn('int MPI_Send(void *buf, int count, void *datatype, int dest, int tag, void *comm)'),
    iprobe: fn('int MPI_Iprobe(int source, int tag, void *comm, _Out_ int *flag, void *status)'),
    recv: fn(
      'int MPI_Recv(void *buf, int count, void *datatype, int source, int tag, void *comm, void *status)',
    ),
    abort: fn('int MPI_Abort(void *comm, int errorcode)'),
    finalize: fn('int MPI_Finalize()'),
    errorString: fn('int MPI_Error_string(int errorcode, void *string, _Out_ int *resultlen)'),
  };
  const symbol = (name: string): MpiHandle => {
    try {
      return lib.symbol(name) as MpiHandle;
    } catch (e) {
      throw new MpiUnavailableError(
        path,
        `symbol ${name} is missing — is this Open MPI? (${(e as Error).message})`,
      );
    }
  };
  const handles = {
    commWorld: symbol('ompi_mpi_comm_world'),
    int: symbol('ompi_mpi_int'),
    float: symbol('ompi_mpi_float'),
    sum: symbol('ompi_mpi_op_sum'),
  };

  const describe = (code: number): string => {
    const text = Buffer.alloc(512);
    const len = [0];
    if (f.errorString(code, text, len) !== 0) return '';
    return text.subarray(0, len[0]).toString('latin1');
  };
  const check = (name: string, code: number): void => {
    if (code !== 0) throw new MpiCallError(name, code, describe(code));
  };
  const sync = (name: keyof typeof f, ...args: unknown[]): void =>
    check(`MPI_${name}`, f[name](...args) as number);
  const async = (name: keyof typeof f, ...args: unknown[]): Promise<void> =>
    new Promise((resolve, reject) => {
      f[name].async(...args, (err: unknown, code: number) => {
        if (err) reject(err);
        else if (code !== 0) reject(new MpiCallError(`MPI_${name}`, code, describe(code)));
        else resolve();
      });
    });
  const flag = (name: 'initialized' | 'finalized'): boolean => {
    const out = [0];
    sync(name, out);
    return out[0] !== 0;
  };

  return {
    path,
    handles,
    initThread(required) {
      const provided = [0];
      sync('initThread', null, null, required, provided);
      return provided[0];
    },
    initialized: () => flag('initialized'),
    finalized: () => flag('finalized'),
    commRank(comm) {
      const out = [0];
      sync('commRank', comm, out);
      return out[0];
    },
    commSize(comm) {
      const out = [0];
      sync('commSize', comm, out);
      return out[0];
    },
    async commDup(comm) {
      const out: [MpiHandle | null] = [null];
      await async('commDup', comm, out);
      return out[0] as MpiHandle;
    },
    barrier: (comm) => async('barrier', comm),
    allgather: (send, sc, st, recv, rc, rt, comm) =>
      async('allgather', send, sc, st, recv, rc, rt, comm),
    alltoall: (send, sc, st, recv, rc, rt, comm) =>
      async('alltoall', send, sc, st, recv, rc, rt, comm),
    alltoallv: (send, scs, sd, st, recv, rcs, rd, rt, comm) =>
      async('alltoallv', send, scs, sd, st, recv, rcs, rd, rt, comm),
    allreduce: (send, recv, count, type, op, comm) =>
      async('allreduce', send, recv, count, type, op, comm),
    send: (buf, count, type, dest, tag, comm) => sync('send', buf, count, type, dest, tag, comm),
    iprobe(source, tag, comm, status) {
      const out = [0];
      sync('iprobe', source, tag, comm, out, status);
      return out[0] !== 0;
    },
    recv: (buf, count, type, source, tag, comm) =>
      sync('recv', buf, count, type, source, tag, comm, null),
    abort: (comm, code) => void f.abort(comm, code),
    finalize: () => sync('finalize'),
  };
}
