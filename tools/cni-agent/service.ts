// The Windows service control protocol, so that `sc.exe create ... binPath= "cni-agent.exe
// --service ..."` works without a wrapper: a plain executable registered as a service is killed
// after 30 s with error 1053 ("did not respond to the start or control request in a timely
// fashion") because it never calls StartServiceCtrlDispatcher.
//
// advapi32.dll through koffi (loaded by full path from System32, like the HCN DLLs):
//   StartServiceCtrlDispatcherW  runs on a koffi worker thread (an async call): it blocks until
//                                the service stops, and the JS thread stays free for the agent;
//   ServiceMain                  called by the dispatcher on a thread of its own; koffi queues it
//                                to the JS thread. It registers the control handler, reports
//                                START_PENDING, starts the agent, and returns: the service keeps
//                                running until it reports SERVICE_STOPPED;
//   HandlerEx                    called on the dispatcher's thread (the worker), queued to JS:
//                                STOP / SHUTDOWN / PRESHUTDOWN report STOP_PENDING and stop the
//                                agent, which then reports SERVICE_STOPPED; INTERROGATE answers
//                                NO_ERROR; anything else ERROR_CALL_NOT_IMPLEMENTED;
//   SetServiceStatus             every state change, with the check point and wait hint the SCM
//                                uses to tell a slow start from a hung one.
// The dispatcher returns once the service reports SERVICE_STOPPED, and the process exits.

import path from 'node:path';
import { loadKoffi } from '../../shared/hns/backends/hcn/native';
import type { AgentLog } from './log';

export const SERVICE_WIN32_OWN_PROCESS = 0x10;
export const SERVICE_STATE = { STOPPED: 1, START_PENDING: 2, STOP_PENDING: 3, RUNNING: 4 } as const;
export const SERVICE_ACCEPT = { STOP: 0x1, SHUTDOWN: 0x4, PRESHUTDOWN: 0x100 } as const;
export const SERVICE_CONTROL = { STOP: 1, INTERROGATE: 4, SHUTDOWN: 5, PRESHUTDOWN: 0xf } as const;
const NO_ERROR = 0;
const ERROR_CALL_NOT_IMPLEMENTED = 120;
const ERROR_SERVICE_SPECIFIC_ERROR = 1066;

export type ServiceRun = (stopped: Promise<string>, onRunning: () => void) => Promise<number>;

export interface ServiceStatus {
  dwServiceType: number;
  dwCurrentState: number;
  dwControlsAccepted: number;
  dwWin32ExitCode: number;
  dwServiceSpecificExitCode: number;
  dwCheckPoint: number;
  dwWaitHint: number;
}

/** The service's side of the protocol, apart from the FFI (so the state machine is tested on any OS). */
export class ServiceController {
  private checkPoint = 0;
  private stopRequested?: (reason: string) => void;
  readonly stopped: Promise<string>;
  state: number = SERVICE_STATE.START_PENDING;

  constructor(private readonly report: (s: ServiceStatus) => void) {
    this.stopped = new Promise((resolve) => (this.stopRequested = resolve));
  }

  private set(state: number, opts: { waitHint?: number; exitCode?: number } = {}): void {
    this.state = state;
    const pending = state === SERVICE_STATE.START_PENDING || state === SERVICE_STATE.STOP_PENDING;
    const code = opts.exitCode ?? 0;
    this.report({
      dwServiceType: SERVICE_WIN32_OWN_PROCESS,
      dwCurrentState: state,
      dwControlsAccepted: state === SERVICE_STATE.RUNNING ? SERVICE_ACCEPT.STOP | SERVICE_ACCEPT.SHUTDOWN | SERVICE_ACCEPT.PRESHUTDOWN : 0,
      dwWin32ExitCode: code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR,
      dwServiceSpecificExitCode: code,
      dwCheckPoint: pending ? ++this.checkPoint : 0,
      dwWaitHint: pending ? opts.waitHint ?? 30_000 : 0,
    });
  }

  starting(): void {
    this.set(SERVICE_STATE.START_PENDING, { waitHint: 60_000 });
  }

  running(): void {
    if (this.state === SERVICE_STATE.START_PENDING) this.set(SERVICE_STATE.RUNNING);
  }

  finished(exitCode: number): void {
    this.set(SERVICE_STATE.STOPPED, { exitCode });
  }

  /** HandlerEx: the return value goes back to the SCM. */
  control(code: number): number {
    switch (code) {
      case SERVICE_CONTROL.STOP:
      case SERVICE_CONTROL.SHUTDOWN:
      case SERVICE_CONTROL.PRESHUTDOWN:
        if (this.state !== SERVICE_STATE.STOP_PENDING && this.state !== SERVICE_STATE.STOPPED) {
          this.set(SERVICE_STATE.STOP_PENDING, { waitHint: 60_000 });
          this.stopRequested?.(code === SERVICE_CONTROL.STOP ? 'service stop' : 'system shutdown');
        }
        return NO_ERROR;
      case SERVICE_CONTROL.INTERROGATE:
        return NO_ERROR;
      default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
  }
}

export async function runAsService(name: string, log: AgentLog, run: ServiceRun): Promise<number> {
  if (process.platform !== 'win32') {
    log.stderr('--service works on Windows only (the service control manager); run without it');
    return 2;
  }
  const koffi = loadKoffi();
  const root = process.env.SystemRoot || process.env.SYSTEMROOT || 'C:\\Windows';
  const advapi = koffi.load(path.win32.join(root, 'System32', 'advapi32.dll'));
  const SERVICE_STATUS = koffi.struct('cni_SERVICE_STATUS', {
    dwServiceType: 'uint32_t', dwCurrentState: 'uint32_t', dwControlsAccepted: 'uint32_t', dwWin32ExitCode: 'uint32_t',
    dwServiceSpecificExitCode: 'uint32_t', dwCheckPoint: 'uint32_t', dwWaitHint: 'uint32_t',
  });
  const ServiceMain = koffi.proto('__stdcall', 'cni_ServiceMainW', 'void', ['uint32_t', 'void *']);
  const HandlerEx = koffi.proto('__stdcall', 'cni_HandlerEx', 'uint32_t', ['uint32_t', 'uint32_t', 'void *', 'void *']);
  const SERVICE_TABLE_ENTRYW = koffi.struct('cni_SERVICE_TABLE_ENTRYW', { lpServiceName: 'const char16_t *', lpServiceProc: 'void *' });
  const StartServiceCtrlDispatcherW = advapi.func('__stdcall', 'StartServiceCtrlDispatcherW', 'int32_t', [koffi.pointer(SERVICE_TABLE_ENTRYW)]);
  const RegisterServiceCtrlHandlerExW = advapi.func('__stdcall', 'RegisterServiceCtrlHandlerExW', 'void *', ['const char16_t *', 'void *', 'void *']);
  const SetServiceStatus = advapi.func('__stdcall', 'SetServiceStatus', 'int32_t', ['void *', koffi.pointer(SERVICE_STATUS)]);

  let handle: unknown = null;
  const controller = new ServiceController((s) => {
    if (handle && !SetServiceStatus(handle, s)) log.warn('service', `SetServiceStatus(${s.dwCurrentState}) failed`);
  });
  let exitCode = 0;
  const handler = koffi.register((control: number) => {
    try {
      return controller.control(control);
    } catch {
      return NO_ERROR;
    }
  }, koffi.pointer(HandlerEx));
  const serviceMain = koffi.register(() => {
    handle = RegisterServiceCtrlHandlerExW(name, handler, null);
    if (!handle) {
      log.error('service', new Error(`RegisterServiceCtrlHandlerExW(${name}) failed`));
      return;
    }
    controller.starting();
    log.event('service-starting', { service: name });
    run(controller.stopped, () => controller.running()).then(
      (code) => {
        exitCode = code;
        controller.finished(code);
      },
      (err) => {
        log.error('service', err);
        exitCode = 1;
        controller.finished(1);
      },
    );
  }, koffi.pointer(ServiceMain));

  try {
    const table = [{ lpServiceName: name, lpServiceProc: serviceMain }, { lpServiceName: null, lpServiceProc: null }];
    const ok = await new Promise<number>((resolve, reject) => {
      StartServiceCtrlDispatcherW.async(table, (err: unknown, res: number) => (err ? reject(err) : resolve(res)));
    });
    if (!ok) {
      log.stderr(`StartServiceCtrlDispatcherW failed: "--service" is for the service control manager (sc.exe start ${name}); run without it in a console`);
      return 1;
    }
    return exitCode;
  } finally {
    koffi.unregister(serviceMain);
    koffi.unregister(handler);
  }
}
