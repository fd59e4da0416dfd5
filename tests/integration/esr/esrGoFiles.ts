// Small ESR GO files for tests: a header, records with their exact field counts, and a trailer that
// counts every line (or a wrong count, to test reconciliation).

/** A record line with `count` data fields after the record type; `set` fills 1-based positions. */
export function esrLine(recordType: string, count: number, set: Record<number, string> = {}): string {
  return [recordType, ...Array.from({ length: count }, (_, i) => set[i + 1] ?? '')].join('~');
}

export const esrPerson = (id: string, employeeNumber = `E${id}`) => esrLine('PRA', 44, { 1: id, 2: '20200101', 3: '47121231', 4: employeeNumber, 6: 'Surname', 7: 'Given', 13: '19800101', 14: 'QQ123456C', 16: '20200101', 38: '20200101 090000' });

export const esrAssignment = (personId: string, assignmentId: string, fte: string, jobName = 'Nursing and Midwifery Registered|Staff Nurse') =>
  esrLine('ASA', 50, { 1: personId, 2: assignmentId, 3: '20200101', 4: '47121231', 7: `${assignmentId}-1`, 22: (Number(fte) * 37.5).toFixed(2), 25: fte, 27: 'ORG1', 28: 'POS1', 34: jobName, 44: '20200101 090000' });

/** A whole GO file: HDR, the lines, TRL with the line count (or `trailer` to state a wrong one). */
export function esrGoFile(name: string, lines: readonly string[], options: { trailer?: number; vpd?: string } = {}): string {
  const header = `HDR~${name}~20260101 010000~${options.vpd ?? '431'}~20251231 010000~20260101 010000~3.1`;
  const all = [header, ...lines];
  return [...all, `TRL~${options.trailer ?? all.length + 1}`].join('\r\n') + '\r\n';
}
