// The workflow library as the CLI uses it, loaded on first use (workflow-commands.ts imports it dynamically): the
// database drivers and query builder take a second to import, which commands that do not touch the store skip.
export { checkpointLog, proveEntry, verifyLog } from '../workflow/audit/audit-log.ts';
export { assessRequest } from '../workflow/assess/assess.ts';
export { issueCertificate, verifyCertificate } from '../workflow/evidence/certificate.ts';
export { logBlocks, outputFilterFor } from '../workflow/evidence/output-filter.ts';
export { decideMatches } from '../workflow/assess/confirm.ts';
export { addCorpus, listCorpora } from '../workflow/assess/corpora.ts';
export { loadAssessment } from '../workflow/jobs/handlers.ts';
export { runWorker } from '../workflow/jobs/worker.ts';
export {
  approveRequest, cancelRequest, createRequest, denyRequest, extendRequest, getRequest, listRequests, pauseRequest,
  requestHistory, resumeRequest, retryRequest, verifyIdentity,
} from '../workflow/requests/service.ts';
export { openStore } from '../workflow/store/open-store.ts';
