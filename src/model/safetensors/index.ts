export { SafetensorsFile, withSafetensors, loadSafetensors } from './read.ts';
export { saveSafetensors, type SaveOptions, type SaveDType } from './write.ts';
export { atomicWrite } from '../io/atomic-file.ts';
export { openCheckpoint, closeCheckpoint, loadCheckpoint, saveCheckpoint, SINGLE_FILE, INDEX_FILE, type CheckpointFiles, type SaveCheckpointOptions } from './sharded.ts';
export { SafetensorsError, MAX_HEADER_BYTES, type Header, type TensorEntry } from './header.ts';
export { type SafetensorsDType, halfToFloat, floatToHalf, floatToBf16 } from './dtype.ts';
