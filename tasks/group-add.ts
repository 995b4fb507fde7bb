export { add as default } from "./group.js";
