export { retire as default } from "./group.js";
