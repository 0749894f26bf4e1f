// Placeholder replaced by the error-code table (issue 2).
export const ERROR_NONE = 0;
