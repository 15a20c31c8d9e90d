// Every error the REST API can answer, declared once, with the original's exact texts.
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly description: string, readonly errors?: readonly string[]) {
    super(description);
  }

  body(): { description: string; errors?: string[] } {
    return this.errors ? { description: this.description, errors: [...this.errors] } : { description: this.description };
  }
}

const apiError = (status: number, description: string): ApiError => new ApiError(status, description);

export const DECODING_ERROR = apiError(400, 'The request body could not be decoded according to the value of the\nContent-Type header.');
export const SCHEMA_ERROR_DESCRIPTION = "The provided JSON doesn't match the required schema.";
export const schemaError = (errors: readonly string[]): ApiError => new ApiError(400, SCHEMA_ERROR_DESCRIPTION, errors);
export const DATASET_ID_COLLISION = apiError(409, 'The provided dataset_id is already in use.');
export const DATASET_NOT_FOUND = apiError(404, 'Dataset not found.');
export const DATASET_DELETED = apiError(405, 'The dataset has been deleted.');
export const LEASE_HELD = apiError(409, 'Lease already held.');
export const LEASE_NOT_FOUND = apiError(404, 'Lease not found.');
export const NODE_BY_ERA_NOT_FOUND = apiError(404, 'No node found with given era.');
export const tagMismatch = (sent: string, current: string): ApiError =>
  new ApiError(412, `Tag doesn't match. Required: ${sent}, current: ${current}`);
// Ours: a move off a node silent past --node-timeout must say it means it.
export const nodeUnreachable = (node: string, dataset: string, timeoutSeconds: number): ApiError => new ApiError(409,
  `Node ${node} is unreachable (no report for over ${timeoutSeconds} s), so dataset ${dataset} cannot be handed over by it. `
  + 'Moving it anyway needs force: `flocker move --force` (API: "force": true beside "primary") fences that node, which must '
  + 'then let go of everything moved off it before it does anything else; if it is still running and writing, its data and '
  + 'the moved copy can diverge.');
// Ours: the original's framework answered these with HTML pages.
export const NOT_FOUND = apiError(404, 'Not found.');
export const METHOD_NOT_ALLOWED = apiError(405, 'Method not allowed.');
export const BODY_TOO_LARGE = apiError(413, 'The request body is too large.');
export const BODY_CUT_SHORT = apiError(400, 'The request body was cut short (the client closed the connection or sent it too slowly).');
